/**
 * Small shared steps for HTTP tests: organizations, invitations read from the
 * outbox (no SMTP_URL), joining an org through the real invitation flow, and
 * raw SQL for assertions on what was (not) written.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type SQL, sql } from "drizzle-orm";
import { expect } from "vitest";
import type { Client, TestApp } from "./app.js";

export type { Role } from "../../src/platform/permissions.js";

/** Rows of a raw query (same shape on PGlite and PostgreSQL). */
export async function rows<T = Record<string, unknown>>(t: TestApp, query: SQL): Promise<T[]> {
  const res = (await t.db.execute(query)) as unknown as { rows: T[] };
  return res.rows;
}

/** `select count(*)` of a table, optionally filtered. */
export async function count(t: TestApp, table: string, where?: SQL): Promise<number> {
  const q = where
    ? sql`select count(*)::int as n from ${sql.identifier(table)} where ${where}`
    : sql`select count(*)::int as n from ${sql.identifier(table)}`;
  const [r] = await rows<{ n: number }>(t, q);
  return Number(r!.n);
}

export async function personalSlug(c: Client): Promise<string> {
  const me = await c.get("/api/v1/me");
  expect(me.status).toBe(200);
  const org = me.body.organizations.find((o: { personal: boolean; role: string }) => o.personal && o.role === "owner");
  return org.slug as string;
}

let orgCounter = 0;
export async function createOrg(c: Client, body: { name?: string; slug?: string; description?: string } = {}) {
  const res = await c.post("/api/v1/orgs", { name: body.name ?? `Team ${++orgCounter}`, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; slug: string; name: string };
}

/** The token of the newest invitation mail to `email` in the app's outbox (mail without SMTP_URL). */
export function outboxToken(t: TestApp, email: string): string {
  const dir = path.join(t.config.dataDir, "outbox");
  const files = readdirSync(dir).sort();
  for (const f of files.reverse()) {
    const text = readFileSync(path.join(dir, f), "utf8");
    if (!text.toLowerCase().includes(`to: ${email.toLowerCase()}\n`)) continue;
    const m = /\/invite\/([A-Za-z0-9_-]+)/.exec(text);
    if (m) return m[1]!;
  }
  throw new Error(`no invitation mail to ${email} in ${dir}`);
}

/** Invites a (new, unless given) user into `slug` as `role` and accepts through HTTP; returns the member's client. */
export async function joinOrg(
  t: TestApp,
  inviter: Client,
  slug: string,
  role: "admin" | "member",
  invitee?: Client,
): Promise<Client> {
  const who = invitee ?? (await t.signUp());
  const inv = await inviter.post(`/api/v1/orgs/${slug}/invitations`, { email: who.user!.email, role });
  expect(inv.status, JSON.stringify(inv.body)).toBe(201);
  const token = outboxToken(t, who.user!.email);
  const acc = await who.post(`/api/v1/invitations/${token}/accept`);
  expect(acc.status, JSON.stringify(acc.body)).toBe(200);
  return who;
}

/** An org owned by a fresh user, with an admin and a member. */
export async function team(t: TestApp, name?: string) {
  const owner = await t.signUp();
  const org = await createOrg(owner, name ? { name } : {});
  const admin = await joinOrg(t, owner, org.slug, "admin");
  const member = await joinOrg(t, owner, org.slug, "member");
  return { owner, admin, member, org, slug: org.slug };
}

export async function ownerRows(t: TestApp, orgId: string) {
  return rows<{ user_id: string }>(t, sql`select user_id from members where org_id = ${orgId} and role = 'owner'`);
}

export async function auditActions(t: TestApp, orgId: string): Promise<string[]> {
  const r = await rows<{ action: string }>(t, sql`select action from audit_log where org_id = ${orgId} order by id`);
  return r.map((x) => x.action);
}

/** Funds an organization through the operator grant code path (what `tollgate credits grant` runs). */
export async function grantCredits(t: TestApp, orgSlug: string, usd: string, note = "test funding"): Promise<void> {
  const { grantCredits: grant } = await import("../../src/modules/billing/billing.service.js");
  await grant(t.db, { orgSlug, usd, note });
}

/**
 * A request's log row (the columns asked for), once it is written: a row is queued when its call finishes,
 * which may be just after the client has the answer, so this flushes and reads until it is there.
 */
export async function logRowOf<T>(t: TestApp, requestId: string | null, columns: string): Promise<T | undefined> {
  for (let i = 0; ; i++) {
    await t.app.flushLogs();
    const [row] = await rows<T>(t, sql`select ${sql.raw(columns)} from request_logs where id = ${requestId}`);
    if (row || i === 50) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
}
