/**
 * Billing alerts end to end: priced requests through the gateway move the
 * balance and the month's spend; after each usage flush the thresholds are
 * checked and an alert fires once per crossing — email (real SMTP) to the
 * owner and opted-in admins, and a signed webhook (loopback receiver, allowed
 * through TOLLGATE_ALLOWED_PROVIDER_HOSTS). Also: several "replicas"
 * evaluating the same crossing send once, re-arming after a grant and in a new
 * month, permissions, the secret shown once, and `billing verify` reconciling
 * the ledger with the request logs.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGuardedDispatcher } from "../src/gateway/net/ssrf.js";
import { createNotifier } from "../src/modules/alerts/alerts.notifier.js";
import { createAlertService } from "../src/modules/alerts/alerts.service.js";
import { runBillingCommand } from "../src/modules/billing/billing.cli.js";
import type { OrgContext } from "../src/platform/auth/guard.js";
import { createMailer } from "../src/platform/mail.js";
import { createSecretBox } from "../src/platform/secretbox.js";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits, rows } from "./helpers/fixtures.js";
import { inviteToken, startSmtp, type TestSmtp } from "./helpers/smtp.js";

interface Hook {
  headers: IncomingHttpHeaders;
  body: string;
}

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`billing alerts (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let smtp: TestSmtp;
  let receiver: Server;
  let hookUrl: string;
  const hooks: Hook[] = [];
  /** Status codes the receiver answers next (then 200). */
  const hookPlan: number[] = [];
  let base: string;
  let owner: Client, adminIn: Client, adminOut: Client, member: Client, outsider: Client;
  let slug: string;
  let orgId: string;
  let key: string;
  let secret: string;
  const replicas: Array<ReturnType<typeof createAlertService>> = [];

  async function join(inviter: Client, org: string, role: "admin" | "member") {
    const who = await t.signUp();
    const inv = await inviter.post(`/api/v1/orgs/${org}/invitations`, { email: who.user!.email, role });
    expect(inv.status, JSON.stringify(inv.body)).toBe(201);
    const acc = await who.post(`/api/v1/invitations/${inviteToken(await smtp.waitFor(who.user!.email))}/accept`);
    expect(acc.status).toBe(200);
    return who;
  }

  async function chat(k: string) {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "priced/m1",
        max_tokens: 20,
        messages: [{ role: "user", content: "hello there" }],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return BigInt(res.headers.get("x-tollgate-cost-usd")!.replace(".", ""));
  }

  /** Mails received so far for `to` whose subject matches. */
  const mailsTo = (to: string, subject: RegExp) =>
    smtp.messages.filter(
      (m) => JSON.stringify(m.to).toLowerCase().includes(to.toLowerCase()) && subject.test(m.subject ?? ""),
    );
  const balance = async (id = orgId) =>
    BigInt(
      (
        await rows<{ b: string }>(
          t,
          sql`select coalesce((select balance_micro_usd::text from billing_accounts where org_id = ${id}), '0') as b`,
        )
      )[0]!.b,
    );
  const fired = (id: string, event: string) =>
    rows<{ period: string }>(
      t,
      sql`select period from billing_events_fired where org_id = ${id} and event = ${event} order by fired_at`,
    );
  /** Flush usage (which evaluates alerts) and wait for the deliveries it started. */
  const flush = () => t.app.flushLogs();
  const verifySignature = (h: Hook, key: string) => {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(h.headers["tollgate-signature"]));
    expect(m, String(h.headers["tollgate-signature"])).not.toBeNull();
    const expected = createHmac("sha256", key).update(`${m![1]}.${h.body}`).digest();
    expect(timingSafeEqual(expected, Buffer.from(m![2]!, "hex"))).toBe(true);
    expect(Math.abs(Date.now() / 1000 - Number(m![1]))).toBeLessThan(300);
    return JSON.parse(h.body);
  };
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runBillingCommand(t.db, argv, (l) => out.push(l), { billing: t.config.billing });
    return { code, out: out.join("\n") };
  };
  const nextHour = () => new Date(Math.floor(Date.now() / HOUR) * HOUR + HOUR).toISOString();

  function replica(
    opts: { now?: () => Date; backoffBaseMs?: number; allowedHosts?: string[]; connectAllowed?: string[] } = {},
  ) {
    const log = pino({ level: "silent" });
    return createAlertService({
      db: t.db,
      box: createSecretBox(t.config.secret),
      notifier: createNotifier({
        mailer: createMailer({ smtpUrl: smtp.url, from: t.config.mailFrom, dataDir: null, log }),
        dispatcher: createGuardedDispatcher(opts.connectAllowed ?? ["127.0.0.1"]),
        log,
        backoffBaseMs: opts.backoffBaseMs ?? 10,
      }),
      publicUrl: t.config.publicUrl,
      allowedHosts: opts.allowedHosts ?? ["127.0.0.1"],
      log,
      now: opts.now,
    });
  }

  beforeAll(async () => {
    smtp = await startSmtp();
    fake = await startOpenAIFake({ apiKey: "sk-priced" });
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        hooks.push({ headers: req.headers, body });
        const status = hookPlan.shift() ?? 200;
        res.writeHead(status, status >= 300 && status < 400 ? { location: "http://169.254.169.254/" } : {}).end("ok");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/tollgate-alerts`;
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1", SMTP_URL: smtp.url } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    owner = await t.signUp();
    outsider = await t.signUp();
    const org = await createOrg(owner, { name: "Alert Co" });
    slug = org.slug;
    orgId = org.id;
    adminIn = await join(owner, slug, "admin");
    adminOut = await join(owner, slug, "admin");
    member = await join(owner, slug, "member");
    const p = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Priced",
      slug: "priced",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: "sk-priced",
      models: [{ id: "m1", maxOutputTokens: 1000, inputPricePerMillion: "2", outputPricePerMillion: "10" }],
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "App", slug: "main-app" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "live", environment: "live" })).body
      .key;
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await smtp?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it("permissions: owner manages, admin reads and opts in, member 403, another org's user 404", async () => {
    const body = { lowBalanceUsd: "1", monthlyBudgetUsd: null, webhookUrl: null };
    expect((await adminIn.get(`/api/v1/orgs/${slug}/billing/alerts`)).status).toBe(200);
    expect((await adminIn.put(`/api/v1/orgs/${slug}/billing/alerts`, body)).status).toBe(403);
    expect((await adminIn.post(`/api/v1/orgs/${slug}/billing/alerts/test`)).status).toBe(403);
    expect((await member.get(`/api/v1/orgs/${slug}/billing/alerts`)).status).toBe(403);
    expect((await member.put(`/api/v1/orgs/${slug}/billing/alerts`, body)).status).toBe(403);
    expect((await member.put(`/api/v1/orgs/${slug}/billing/alerts/subscription`)).status).toBe(403);
    expect((await outsider.get(`/api/v1/orgs/${slug}/billing/alerts`)).status).toBe(404);
    expect((await outsider.put(`/api/v1/orgs/${slug}/billing/alerts`, body)).status).toBe(404);
    expect((await t.anon.get(`/api/v1/orgs/${slug}/billing/alerts`)).status).toBe(401);

    // These routes take no input: a body with fields is refused before anything changes.
    expect(
      (await adminIn.put(`/api/v1/orgs/${slug}/billing/alerts/subscription`, { userId: adminOut.user!.id })).status,
    ).toBe(400);
    expect((await owner.post(`/api/v1/orgs/${slug}/billing/alerts/test`, { to: "someone@example.com" })).status).toBe(
      400,
    );
    expect((await adminIn.get(`/api/v1/orgs/${slug}/billing/alerts`)).body.emailMe).toBe(false);
    const sub = await adminIn.put(`/api/v1/orgs/${slug}/billing/alerts/subscription`);
    expect(sub.status).toBe(200);
    expect(sub.body).toEqual({ emailMe: true });
    expect((await adminIn.get(`/api/v1/orgs/${slug}/billing/alerts`)).body.emailMe).toBe(true);
    expect((await adminOut.get(`/api/v1/orgs/${slug}/billing/alerts`)).body.emailMe).toBe(false);
    // Opting in and out again leaves adminOut out; the owner cannot opt out.
    expect((await adminOut.put(`/api/v1/orgs/${slug}/billing/alerts/subscription`)).status).toBe(200);
    expect((await adminOut.delete(`/api/v1/orgs/${slug}/billing/alerts/subscription`)).body).toEqual({
      emailMe: false,
    });
    const ownerOut = await owner.delete(`/api/v1/orgs/${slug}/billing/alerts/subscription`);
    expect(ownerOut.status).toBe(400);
    expect(ownerOut.body.error.code).toBe("OWNER_ALWAYS_NOTIFIED");
    const actions = (
      await rows<{ action: string }>(
        t,
        sql`select action from audit_log where org_id = ${orgId} and action like 'billing.alerts%' order by id`,
      )
    ).map((r) => r.action);
    expect(actions).toEqual(["billing.alerts_subscribed", "billing.alerts_subscribed", "billing.alerts_unsubscribed"]);
  });

  it("a webhook URL to a metadata, link-local or unallowed private address is refused when saved", async () => {
    const put = (webhookUrl: string) =>
      owner.put(`/api/v1/orgs/${slug}/billing/alerts`, { lowBalanceUsd: null, monthlyBudgetUsd: null, webhookUrl });
    for (const [url, code] of [
      ["http://169.254.169.254/latest/meta-data", "WEBHOOK_URL_FORBIDDEN_ADDRESS"],
      ["http://[fe80::1]/hook", "WEBHOOK_URL_FORBIDDEN_ADDRESS"],
      ["http://metadata.google.internal/computeMetadata", "WEBHOOK_URL_FORBIDDEN_ADDRESS"],
      ["http://10.1.2.3/hook", "WEBHOOK_URL_PRIVATE_ADDRESS"],
      ["http://192.168.1.10/hook", "WEBHOOK_URL_PRIVATE_ADDRESS"],
      ["ftp://example.com/hook", "WEBHOOK_URL_UNSUPPORTED_SCHEME"],
      ["https://user:pw@example.com/hook", "WEBHOOK_URL_CREDENTIALS_IN_URL"],
    ] as const) {
      const r = await put(url);
      expect(r.status, url).toBe(400);
      expect(r.body.error.code, url).toBe(code);
    }
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/billing/alerts`, {
          lowBalanceUsd: "0",
          monthlyBudgetUsd: null,
          webhookUrl: null,
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/billing/alerts`, {
          lowBalanceUsd: "1.0000001",
          monthlyBudgetUsd: null,
          webhookUrl: null,
        })
      ).status,
    ).toBe(400);
    expect((await owner.get(`/api/v1/orgs/${slug}/billing/alerts`)).body).toMatchObject({
      lowBalanceUsd: null,
      webhookUrl: null,
    });
  });

  it("the webhook secret is returned once by the save, shown as a hint afterwards, and never stored or audited in clear", async () => {
    await grantCredits(t, slug, "0.50001"); // balance $0.500010, just above the $0.50 threshold
    const saved = await owner.put(`/api/v1/orgs/${slug}/billing/alerts`, {
      lowBalanceUsd: "0.5",
      monthlyBudgetUsd: null,
      webhookUrl: hookUrl,
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    secret = saved.body.webhookSecret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{40,}$/);
    expect(saved.body).toMatchObject({
      lowBalanceMicroUsd: "500000",
      lowBalanceUsd: "0.500000",
      monthlyBudgetUsd: null,
      webhookUrl: hookUrl,
      webhookSecretHint: `whsec_…${secret.slice(-4)}`,
    });
    const got = await adminIn.get(`/api/v1/orgs/${slug}/billing/alerts`);
    expect(got.body.webhookSecretHint).toBe(`whsec_…${secret.slice(-4)}`);
    expect(JSON.stringify(got.body)).not.toContain(secret);
    expect(got.body).not.toHaveProperty("webhookSecret");
    // Saving again with the same URL keeps the secret (none returned).
    const again = await owner.put(`/api/v1/orgs/${slug}/billing/alerts`, {
      lowBalanceUsd: "0.5",
      monthlyBudgetUsd: null,
      webhookUrl: hookUrl,
    });
    expect(again.body.webhookSecret).toBeNull();
    expect(again.body.webhookSecretHint).toBe(`whsec_…${secret.slice(-4)}`);
    const audit = await rows<{ action: string; metadata: unknown }>(
      t,
      sql`select action, metadata from audit_log where org_id = ${orgId} and action = 'billing.alerts_updated'`,
    );
    expect(audit.length).toBe(2);
    expect(audit[0]!.metadata).toMatchObject({
      lowBalanceUsd: "0.500000",
      webhookHost: new URL(hookUrl).host,
      webhookSecretGenerated: true,
    });
    const [stored] = await rows<{ c: string }>(
      t,
      sql`select alert_webhook_secret_ciphertext as c from billing_settings where org_id = ${orgId}`,
    );
    expect(stored!.c).toMatch(/^v1\./);
    const everything = JSON.stringify(await rows(t, sql`select * from audit_log where org_id = ${orgId}`)) + stored!.c;
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(secret.slice(6));
    // The balance ($0.50001) is above the threshold: saving fired nothing.
    await flush();
    expect(await fired(orgId, "low_balance")).toEqual([]);
  });

  it("the test alert reaches the owner and opted-in admin by email and the webhook, signed", async () => {
    hooks.length = 0;
    const r = await owner.post(`/api/v1/orgs/${slug}/billing/alerts/test`);
    expect(r.status).toBe(200);
    expect(r.body.webhook).toMatchObject({ delivered: true, status: 200, attempts: 1, error: null });
    expect([...r.body.emails].sort()).toEqual([owner.user!.email, adminIn.user!.email].sort());
    const mail = await smtp.waitFor(owner.user!.email);
    expect(mail.subject).toBe("Tollgate: test billing alert for Alert Co");
    await smtp.waitFor(adminIn.user!.email);
    expect(hooks.length).toBe(1);
    const payload = verifySignature(hooks[0]!, secret);
    expect(payload).toMatchObject({ type: "test", test: true, orgSlug: slug });
    expect(hooks[0]!.headers["content-type"]).toBe("application/json");
  });

  it("low balance: crossing the threshold fires once — email to owner and opted-in admin only, signed webhook — and not again while below", async () => {
    hooks.length = 0;
    const c = await chat(key);
    await flush();
    const after = await balance();
    expect(after).toBe(500_010n - c);
    expect(after).toBeLessThan(500_000n);
    expect((await fired(orgId, "low_balance")).length).toBe(1);

    const subject = /balance is \$0\.\d+, below your \$0\.50 alert/;
    const mail = await smtp.waitFor(owner.user!.email);
    expect(mail.subject).toMatch(subject);
    expect(mail.subject).toContain("Alert Co");
    expect(mail.text).toContain(`http://localhost:3000/${slug}/settings/billing`);
    expect(mail.text).toContain("$0.50");
    await smtp.waitFor(adminIn.user!.email);
    expect(mailsTo(adminOut.user!.email, /balance/)).toEqual([]);
    expect(mailsTo(member.user!.email, /balance/)).toEqual([]);

    expect(hooks.length).toBe(1);
    const payload = verifySignature(hooks[0]!, secret);
    expect(payload).toMatchObject({
      type: "low_balance",
      orgSlug: slug,
      balanceMicroUsd: after.toString(),
      thresholdMicroUsd: "500000",
      thresholdUsd: "0.500000",
      period: expect.any(String),
    });
    expect(new Date(payload.firedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // A tampered body or another secret does not verify.
    const sig = String(hooks[0]!.headers["tollgate-signature"]);
    const [, ts, mac] = /^t=(\d+),v1=(\w+)$/.exec(sig)!;
    expect(
      createHmac("sha256", secret)
        .update(`${ts}.${hooks[0]!.body.replace("low_balance", "budget_50")}`)
        .digest("hex"),
    ).not.toBe(mac);

    // Still below: more traffic fires nothing new.
    await chat(key);
    await chat(key);
    await flush();
    expect((await fired(orgId, "low_balance")).length).toBe(1);
    expect(mailsTo(owner.user!.email, subject).length).toBe(1);
    expect(hooks.length).toBe(1);
  });

  it("several replicas evaluating the same crossing concurrently send one alert", async () => {
    // A grant re-arms the alert (new credit version) while the balance stays below the threshold.
    await grantCredits(t, slug, "0.000001");
    const before = (await fired(orgId, "low_balance")).length;
    const mailsBefore = mailsTo(owner.user!.email, /below your/).length;
    hooks.length = 0;
    while (replicas.length < 6) replicas.push(replica());
    await Promise.all(replicas.map((r) => r.evaluate([orgId])));
    expect((await fired(orgId, "low_balance")).length).toBe(before + 1);
    await smtp.waitFor(owner.user!.email);
    await sleep(300);
    expect(mailsTo(owner.user!.email, /below your/).length).toBe(mailsBefore + 1);
    expect(hooks.length).toBe(1);
    expect(verifySignature(hooks[0]!, secret).type).toBe("low_balance");
  });

  it("a top-up above the threshold re-arms the alert: the next crossing fires again", async () => {
    const mailsBefore = mailsTo(owner.user!.email, /below your/).length;
    const now = await balance();
    await grantCredits(
      t,
      slug,
      `${((500_010n - now) / 1_000_000n).toString()}.${((500_010n - now) % 1_000_000n).toString().padStart(6, "0")}`,
    );
    expect(await balance()).toBe(500_010n);
    hooks.length = 0;
    await chat(key);
    await flush();
    const periods = await fired(orgId, "low_balance");
    expect(periods.length).toBe(3);
    expect(new Set(periods.map((p) => p.period)).size).toBe(3);
    await smtp.waitFor(owner.user!.email);
    expect(mailsTo(owner.user!.email, /below your/).length).toBe(mailsBefore + 1);
    expect(hooks.length).toBe(1);
  });

  it("monthly budget: 50 %, 80 % and 100 % each fire once; a budget lowered below the spend fires at once", async () => {
    const b = await createOrg(owner, { name: "Budget Co" });
    await owner.post(`/api/v1/orgs/${b.slug}/providers`, {
      name: "Priced",
      slug: "priced",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: "sk-priced",
      models: [{ id: "m1", maxOutputTokens: 1000, inputPricePerMillion: "2", outputPricePerMillion: "10" }],
    });
    expect((await owner.post(`/api/v1/orgs/${b.slug}/projects`, { name: "B", slug: "budget-app" })).status).toBe(201);
    const k = (
      await owner.post(`/api/v1/orgs/${b.slug}/projects/budget-app/keys`, { name: "live", environment: "live" })
    ).body.key;
    await grantCredits(t, b.slug, "1");
    const c = await chat(k); // the cost of one request (all requests here are identical)
    await flush();
    const budget = c * 10n; // 10 requests = 100 %
    const usd = `${budget / 1_000_000n}.${(budget % 1_000_000n).toString().padStart(6, "0")}`;
    const saved = await owner.put(`/api/v1/orgs/${b.slug}/billing/alerts`, {
      lowBalanceUsd: null,
      monthlyBudgetUsd: usd,
      webhookUrl: null,
    });
    expect(saved.status).toBe(200);
    const events = async () =>
      (
        await rows<{ event: string }>(
          t,
          sql`select event from billing_events_fired where org_id = ${b.id} order by event`,
        )
      ).map((r) => r.event);
    const budgetMails = (pct: number) => mailsTo(owner.user!.email, new RegExp(`Budget Co has used ${pct}% of its`));
    const month = new Date().toISOString().slice(0, 7);
    let spent = 1n;
    const spendTo = async (n: bigint) => {
      for (; spent < n; spent++) {
        await chat(k);
        await flush();
      }
    };
    await spendTo(4n);
    expect(await events()).toEqual([]);
    await spendTo(5n);
    expect(await events()).toEqual(["budget_50"]);
    expect((await smtp.waitFor(owner.user!.email)).subject).toMatch(
      /Budget Co has used 50% of its \$0\.\d+ monthly budget/,
    );
    await spendTo(8n);
    expect(await events()).toEqual(["budget_50", "budget_80"]);
    await spendTo(10n);
    expect(await events()).toEqual(["budget_100", "budget_50", "budget_80"]);
    await spendTo(12n);
    const periods = await rows<{ period: string }>(
      t,
      sql`select distinct period from billing_events_fired where org_id = ${b.id}`,
    );
    expect(periods).toEqual([{ period: month }]);
    await sleep(200);
    expect([budgetMails(50).length, budgetMails(80).length, budgetMails(100).length]).toEqual([1, 1, 1]);
    expect(budgetMails(100)[0]!.text).toContain(`reaching 100% of its monthly budget of $`);
    // The admin of the first org is no member here: nothing for them.
    expect(mailsTo(adminIn.user!.email, /Budget Co/)).toEqual([]);

    // Lowering the budget below this month's spend is a new alert: it fires at once (one email, the highest step).
    const lower = await owner.put(`/api/v1/orgs/${b.slug}/billing/alerts`, {
      lowBalanceUsd: null,
      monthlyBudgetUsd: "0.000100",
      webhookUrl: null,
    });
    expect(lower.status).toBe(200);
    await flush();
    await sleep(200);
    expect([budgetMails(50).length, budgetMails(80).length, budgetMails(100).length]).toEqual([1, 1, 2]);
    expect(await events()).toEqual(["budget_100", "budget_50", "budget_80"]);

    // A new month re-arms the budget alerts (a replica whose clock is in the next month, with spend there).
    const now = new Date();
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 0, 30));
    const hour = new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth(), 1));
    const [proj] = await rows<{ id: string }>(t, sql`select id from projects where org_id = ${b.id}`);
    await t.db.execute(
      sql`insert into billing_usage_hourly (org_id, project_id, key_id, model, hour, requests, cost_micro_usd) values (${b.id}, ${proj!.id}, 'k', 'priced/m1', ${hour.toISOString()}, 1, 60)`,
    );
    try {
      const r = replica({ now: () => next });
      await r.evaluate([b.id]);
      await r.idle();
      const nextMonth = next.toISOString().slice(0, 7);
      const fresh = await rows<{ event: string }>(
        t,
        sql`select event from billing_events_fired where org_id = ${b.id} and period = ${nextMonth} order by event`,
      );
      expect(fresh.map((x) => x.event)).toEqual(["budget_50"]);
      await sleep(200);
      expect(budgetMails(50).length).toBe(2);
    } finally {
      await t.db.execute(sql`delete from billing_usage_hourly where org_id = ${b.id} and hour = ${hour.toISOString()}`);
    }
  });

  it("webhook delivery: retries 5xx with backoff, never follows a redirect, and a failure does not disturb the gateway", async () => {
    const r = replica({ backoffBaseMs: 10 });
    const ctx: OrgContext = {
      orgId,
      orgSlug: slug,
      role: "owner",
      userId: owner.user!.id,
      email: owner.user!.email,
      name: "o",
      ip: "127.0.0.1",
    };
    hooks.length = 0;
    hookPlan.push(500, 503);
    const retried = await r.test(ctx);
    expect(retried.webhook).toMatchObject({ delivered: true, status: 200, attempts: 3 });
    expect(hooks.length).toBe(3);
    for (const h of hooks) verifySignature(h, secret);

    hooks.length = 0;
    hookPlan.push(302);
    const redirected = await r.test(ctx);
    expect(redirected.webhook).toMatchObject({ delivered: false, status: 302, attempts: 1 });
    expect(redirected.webhook!.error).toMatch(/redirects are not followed/);
    expect(hooks.length).toBe(1);

    hooks.length = 0;
    hookPlan.push(500, 500, 500);
    const failed = await r.test(ctx);
    expect(failed.webhook).toMatchObject({ delivered: false, status: 500, attempts: 3 });

    // Checked again at send time: on the URL (an operator removed the allowance) and on the connected address.
    hooks.length = 0;
    const urlRefused = await replica({ allowedHosts: [] }).test(ctx);
    expect(urlRefused.webhook).toMatchObject({
      delivered: false,
      attempts: 0,
      error: "the webhook URL is not allowed (SSRF checks)",
    });
    const connectRefused = await replica({ connectAllowed: [] }).test(ctx);
    expect(connectRefused.webhook).toMatchObject({
      delivered: false,
      status: null,
      attempts: 1,
      error: "the address is not allowed (SSRF guard)",
    });
    expect(hooks.length).toBe(0);
    // The gateway keeps serving while alert deliveries fail.
    await chat(key);
    await flush();
  });

  it("billing verify: the ledger reconciles with the request logs and the hourly report; a tampered log cost is reported (exit 1)", async () => {
    await flush();
    const ok = await cli("billing", "verify", "--through", nextHour());
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(
      new RegExp(`ok\\s+${slug}\\s+usage: ledger \\$0\\.\\d+, hourly report \\$0\\.\\d+; compared with request logs`),
    );
    expect(ok.out).toMatch(
      new RegExp(`ok\\s+${slug}/main-app\\s+usage \\$0\\.\\d+ = hourly report; ledger \\$0\\.\\d+ = request logs`),
    );
    expect(ok.out).toMatch(/Usage reconciles for all \d+ organizations/);
    // The ledger's usage equals the sum of the logs' costs for the org (the same number, computed independently here).
    const [sums] = await rows<{ l: string; r: string }>(
      t,
      sql`select (select (-sum(amount_micro_usd))::text from ledger_entries where org_id = ${orgId} and kind = 'usage') as l, (select sum(cost_micro_usd)::text from request_logs where org_id = ${orgId}) as r`,
    );
    expect(sums!.l).toBe(sums!.r);

    // Without --through the current (incomplete) hour is not compared.
    const [log] = await rows<{ id: string }>(
      t,
      sql`select id from request_logs where org_id = ${orgId} and cost_micro_usd > 0 order by created_at desc limit 1`,
    );
    await t.db.execute(sql`update request_logs set cost_micro_usd = cost_micro_usd + 7 where id = ${log!.id}`);
    try {
      const bad = await cli("billing", "verify", "--through", nextHour());
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(
        new RegExp(
          `MISMATCH ${slug}/main-app\\s+usage \\$0\\.\\d+ = hourly report; ledger \\$(0\\.\\d+) but request logs \\$0\\.\\d+`,
        ),
      );
      expect(bad.out).toMatch(/hour \d{4}-\d\d-\d\dT\d\d:00Z: ledger \$0\.\d+, request logs \$0\.\d+/);
      expect(bad.out).toMatch(/Usage differs in 1 of \d+ organizations/);
      // The balance check itself still passes: only the usage reconciliation failed.
      expect(bad.out).toMatch(/All \d+ balances equal their ledgers\./);
      expect((await cli("billing", "verify", "--through", "not-a-date")).code).toBe(2);
    } finally {
      await t.db.execute(sql`update request_logs set cost_micro_usd = cost_micro_usd - 7 where id = ${log!.id}`);
    }
    expect((await cli("billing", "verify", "--through", nextHour())).code).toBe(0);
  });

  it("billing verify: the hourly report must equal the ledger, and a deleted project's logs are not compared", async () => {
    const [proj] = await rows<{ id: string }>(
      t,
      sql`select id from projects where org_id = ${orgId} and slug = 'main-app'`,
    );
    const [row] = await rows<{ key_id: string; model: string; hour: string }>(
      t,
      sql`select key_id, model, hour::text as hour from billing_usage_hourly where project_id = ${proj!.id} limit 1`,
    );
    const one = sql`project_id = ${proj!.id} and key_id = ${row!.key_id} and model = ${row!.model} and hour = ${row!.hour}::timestamptz`;
    await t.db.execute(sql`update billing_usage_hourly set cost_micro_usd = cost_micro_usd + 1 where ${one}`);
    try {
      const bad = await cli("billing", "verify", "--through", nextHour());
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(
        new RegExp(`MISMATCH ${slug}/main-app\\s+usage in ledger \\$0\\.\\d+ but hourly report \\$0\\.\\d+`),
      );
    } finally {
      await t.db.execute(sql`update billing_usage_hourly set cost_micro_usd = cost_micro_usd - 1 where ${one}`);
    }
    expect((await owner.delete(`/api/v1/orgs/${slug}/projects/main-app`, { confirm: "main-app" })).status).toBe(204);
    const after = await cli("billing", "verify", "--through", nextHour());
    expect(after.code, after.out).toBe(0);
    expect(after.out).toMatch(
      new RegExp(
        `ok\\s+${slug}/\\(deleted project ${proj!.id}\\)\\s+usage \\$0\\.\\d+ = hourly report; request logs not compared: project deleted`,
      ),
    );
  });
  it("billing verify: logs trimmed by retention are compared from the first complete hour; a lost log is a mismatch", async () => {
    const o = await createOrg(owner, { name: "Retention Co" });
    expect((await owner.post(`/api/v1/orgs/${o.slug}/projects`, { name: "Old", slug: "old-app" })).status).toBe(201);
    const [proj] = await rows<{ id: string }>(t, sql`select id from projects where org_id = ${o.id}`);
    // Credits first, as the gateway would require: a negative balance is flagged by verify.
    expect((await cli("credits", "grant", "--org", o.slug, "--usd", "1", "--note", "retention test")).code).toBe(0);
    const h = Array.from({ length: 4 }, (_, i) => Math.floor(Date.now() / HOUR) * HOUR - (5 - i) * HOUR);
    const iso = (ms: number) => new Date(ms).toISOString();
    // Four past hours, as the gateway writes them: one usage ledger row and one report row per hour, two logs per hour.
    for (const [i, hour] of h.entries()) {
      const c = BigInt(100 * (i + 1));
      await t.db.execute(
        sql`insert into ledger_entries (org_id, kind, amount_micro_usd, project_id, period_start, requests) values (${o.id}, 'usage', ${(-c).toString()}, ${proj!.id}, ${iso(hour)}, 2)`,
      );
      await t.db.execute(
        sql`insert into billing_usage_hourly (org_id, project_id, key_id, model, hour, requests, cost_micro_usd) values (${o.id}, ${proj!.id}, 'k', 'priced/m1', ${iso(hour)}, 2, ${c.toString()})`,
      );
      for (const [j, part] of [(c * 4n) / 10n, c - (c * 4n) / 10n].entries()) {
        await t.db.execute(sql`insert into request_logs (id, org_id, project_id, key_id, created_at, endpoint, status, outcome, latency_ms, cost_micro_usd)
          values (${`r-${i}-${j}`}, ${o.id}, ${proj!.id}, 'k', ${iso(hour + (10 + 30 * j) * 60_000)}, 'chat', 200, 'ok', 5, ${part.toString()})`);
      }
    }
    const through = iso(h[3]! + HOUR);
    const hourText = (ms: number) => `${iso(ms).slice(0, 13)}:00Z`;
    const all = await cli("billing", "verify", "--through", through);
    expect(all.code, all.out).toBe(0);
    expect(all.out).toContain(
      `ok       ${o.slug}/old-app  usage $0.001000 = hourly report; ledger $0.001000 = request logs (${hourText(h[0]!)} to ${hourText(h[3]! + HOUR)}, 4 h)`,
    );

    // Retention deleted everything before h1 + 30 min: h1 is partial, comparison starts at h2.
    await t.db.execute(
      sql`delete from request_logs where project_id = ${proj!.id} and created_at < ${iso(h[1]! + 30 * 60_000)}`,
    );
    const trimmed = await cli("billing", "verify", "--through", through);
    expect(trimmed.code, trimmed.out).toBe(0);
    expect(trimmed.out).toContain(
      `ok       ${o.slug}/old-app  usage $0.001000 = hourly report; ledger $0.000700 = request logs (${hourText(h[2]!)} to ${hourText(h[3]! + HOUR)}, 2 h)`,
    );

    // A log lost in a complete hour is a mismatch naming that hour.
    await t.db.execute(sql`delete from request_logs where id = 'r-3-0'`);
    const lost = await cli("billing", "verify", "--through", through);
    expect(lost.code).toBe(1);
    expect(lost.out).toContain(
      `MISMATCH ${o.slug}/old-app  usage $0.001000 = hourly report; ledger $0.000700 but request logs $0.000540`,
    );
    expect(lost.out).toContain(`hour ${hourText(h[3]!)}: ledger $0.000400, request logs $0.000240`);

    // Deleting the project takes its logs: they are no longer compared (the ledger still is, against the report).
    expect((await owner.delete(`/api/v1/orgs/${o.slug}/projects/old-app`, { confirm: "old-app" })).status).toBe(204);
    expect((await cli("billing", "verify", "--through", through)).code).toBe(0);
  });
});
