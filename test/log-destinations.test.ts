/**
 * Log destinations end to end: requests through the gateway are logged, and
 * each organization's rows reach its webhook receiver (a node:http server on
 * loopback, allowed through TOLLGATE_ALLOWED_PROVIDER_HOSTS) in signed
 * batches. Proven here: who may manage them; the secret shown once and sealed
 * at rest; every row delivered once, signed, in order, with bodies only where
 * the project stores them, a long request in a later batch; a receiver outage
 * of 30 s of wall-clock time after which every row logged meanwhile arrives
 * (exactly once after dedupe by request id); a batch dead-lettered after the
 * attempt limit, counted and shown; an SSRF address refused at save; and,
 * with replicas (full apps on one database), one delivery loop per
 * destination at a time, resumed by another replica after a shutdown.
 * Poll and backoff intervals are shortened (injectable timings); waits are on
 * the receiver's events or the API's answers, never fixed sleeps.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type App, buildApp } from "../src/app.js";
import type { DeliveryTimings } from "../src/modules/log-destinations/log-destinations.wiring.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, rows, team } from "./helpers/fixtures.js";

/** Short intervals keep the suite quick; the outage itself still lasts 30 s. */
const FAST: Partial<DeliveryTimings> = {
  pollMs: 100,
  longPollMs: 300,
  backoffBaseMs: 100,
  backoffMaxMs: 1_000,
  timeoutMs: 2_000,
  settleMs: 1_000,
  quickMs: 1_000,
  maxRequestMs: 6_000,
  leaseMs: 5_000,
};
const ENV = { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" };

interface Post {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}
interface DeliveredRow {
  requestId: string;
  createdAt: string;
  latencyMs: number;
  project: string | null;
  projectId: string;
  requestBody: unknown;
  responseBody: unknown;
}

/** A webhook receiver on loopback: records every POST; `state.answer` picks the status per path. */
async function startReceiver() {
  const posts: Post[] = [];
  const waiters = new Set<() => void>();
  const state = { answer: (_path: string): number => 200 };
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const status = state.answer(path);
      posts.push({ path, headers: req.headers, body, status, at: Date.now() });
      res.writeHead(status).end(status < 300 ? "ok" : "unavailable");
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    posts,
    state,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Resolves once `check` holds, checked now and after every POST received; fails after `ms`. */
    until(check: () => boolean, ms: number, what: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const done = () => {
          if (!check()) return;
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          reject(new Error(`timed out waiting for ${what}`));
        }, ms);
        waiters.add(done);
        done();
      });
    },
    /** The rows of accepted (2xx) POSTs to `path`, in arrival order, duplicates included. */
    accepted(path: string): DeliveredRow[] {
      return posts
        .filter((p) => p.path === path && p.status < 300)
        .flatMap((p) => JSON.parse(p.body).rows as DeliveredRow[]);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Checks the `tollgate-signature` header as a receiver would (HMAC-SHA256 of "<t>.<body>") and returns the body. */
function verified(p: Post, secret: string) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(p.headers["tollgate-signature"]));
  expect(m, String(p.headers["tollgate-signature"])).not.toBeNull();
  const expected = createHmac("sha256", secret).update(`${m![1]}.${p.body}`).digest();
  expect(timingSafeEqual(expected, Buffer.from(m![2]!, "hex"))).toBe(true);
  expect(Math.abs(Date.now() / 1000 - Number(m![1]))).toBeLessThan(300);
  return JSON.parse(p.body) as { destinationId: string; orgId: string; rows: DeliveredRow[] };
}

const ids = (list: DeliveredRow[]) => list.map((r) => r.requestId);
const ordered = (list: DeliveredRow[]) =>
  [...list].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.requestId < b.requestId ? -1 : 1));
const isQuick = (r: DeliveredRow) => r.latencyMs <= FAST.quickMs!;
/** Rows arrive in the order their requests started, within each stream (quick requests, longer ones). */
function expectStreamOrder(list: DeliveredRow[]) {
  for (const stream of [list.filter(isQuick), list.filter((r) => !isQuick(r))])
    expect(ids(stream)).toEqual(ids(ordered(stream)));
}

/** An org with two projects (one storing bodies) and a key for each, funded. */
async function world(t: TestApp, name: string) {
  const w = await team(t, name);
  await grantCredits(t, w.slug, "100");
  const keys: Record<"logged" | "plain", string> = { logged: "", plain: "" };
  for (const p of ["logged", "plain"] as const) {
    const made = await w.owner.post(`/api/v1/orgs/${w.slug}/projects`, { name: p, slug: p, logBodies: p === "logged" });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const k = await w.owner.post(`/api/v1/orgs/${w.slug}/projects/${p}/keys`, { name: "live", environment: "live" });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    keys[p] = k.body.key;
  }
  /** One chat request through the gateway; returns its request id. */
  const chat = async (key: string, content: string, extra: Record<string, unknown> = {}) => {
    const res = await w.owner.post(
      "/v1/chat/completions",
      { model: "mock/echo", messages: [{ role: "user", content }], ...extra },
      { authorization: `Bearer ${key}` },
    );
    expect(res.status, res.raw.body).toBe(200);
    return String(res.headers["x-request-id"]);
  };
  return { ...w, keys, chat };
}

async function createDestination(c: Client, slug: string, url: string) {
  const res = await c.post(`/api/v1/orgs/${slug}/log-destinations`, { kind: "webhook", url });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret: string; secretHint: string };
}

describe(`log destinations (${storageKind})`, () => {
  let t: TestApp;
  let rx: Receiver;
  let w: Awaited<ReturnType<typeof world>>;
  let outsider: Client;
  let orgId: string;
  const url = (path: string) => `/api/v1/orgs/${w.slug}/log-destinations${path}`;
  const status = async (id: string) => {
    const res = await w.admin.get(url(`/${id}`));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.status as Record<string, any>;
  };

  beforeAll(async () => {
    rx = await startReceiver();
    t = await startTestApp({ env: ENV, appOptions: { logDestinations: FAST } });
    w = await world(t, "Stream Co");
    orgId = w.org.id;
    outsider = await t.signUp();
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });

  it("owners and admins manage destinations; members get 403, other orgs 404, anonymous 401", async () => {
    const body = { kind: "webhook", url: `${rx.base}/roles` };
    expect((await w.member.post(url(""), body)).body.error.code).toBe("FORBIDDEN");
    expect((await w.member.get(url(""))).status).toBe(403);
    expect((await outsider.get(url(""))).status).toBe(404);
    expect((await outsider.post(url(""), body)).status).toBe(404);
    expect((await t.anon.get(url(""))).status).toBe(401);

    const made = await w.admin.post(url(""), body);
    expect(made.status).toBe(201);
    const id = made.body.id as string;
    expect((await w.owner.get(url(""))).body.destinations.map((d: { id: string }) => d.id)).toContain(id);
    expect((await w.member.get(url(`/${id}`))).status).toBe(403);
    expect((await w.member.delete(url(`/${id}`))).status).toBe(403);
    expect((await outsider.delete(url(`/${id}`))).status).toBe(404);
    const paused = await w.admin.patch(url(`/${id}`), { enabled: false });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ enabled: false, status: { state: "paused" } });
    expect((await w.owner.delete(url(`/${id}`))).status).toBe(204);
    const gone = await w.admin.get(url(`/${id}`));
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("LOG_DESTINATION_NOT_FOUND");
  });

  it("shows the signing secret once, keeps it sealed, and audits without it", async () => {
    const created = await w.owner.post(url(""), { kind: "webhook", url: `${rx.base}/secret` });
    expect(created.status).toBe(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const { id, secret } = created.body as { id: string; secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.body.secretHint).toBe(`whsec_…${secret.slice(-4)}`);

    const one = await w.owner.get(url(`/${id}`));
    const all = await w.admin.get(url(""));
    for (const res of [one, all]) {
      expect(res.status).toBe(200);
      expect(res.raw.body).not.toContain(secret);
    }
    expect(one.body.secret).toBeUndefined();
    expect(one.body.secretHint).toBe(`whsec_…${secret.slice(-4)}`);

    const [stored] = await rows<{ c: string }>(
      t,
      sql`select secret_ciphertext as c from log_destinations where id = ${id}`,
    );
    expect(stored!.c).toMatch(/^v1\./);
    expect(stored!.c).not.toContain(secret);
    expect(stored!.c).not.toContain(secret.slice(6));

    expect((await w.owner.delete(url(`/${id}`))).status).toBe(204);
    const audit = await rows<{ action: string; metadata: unknown }>(
      t,
      sql`select action, metadata from audit_log where org_id = ${orgId} and target_id = ${id} order by created_at, id`,
    );
    expect(audit.map((a) => a.action)).toEqual(["log_destination.created", "log_destination.deleted"]);
    expect(audit[0]!.metadata).toEqual({ kind: "webhook", host: new URL(rx.base).host });
    expect(JSON.stringify(audit)).not.toContain(secret.slice(6));
  });

  it("is in the API reference: the secret only in the creation's answer", async () => {
    const doc = (await t.anon.get("/api/openapi.json")).body;
    const base = doc.paths["/api/v1/orgs/{org}/log-destinations"];
    const one = doc.paths["/api/v1/orgs/{org}/log-destinations/{id}"];
    expect(Object.keys(base).sort()).toEqual(["get", "post"]);
    expect(Object.keys(one).sort()).toEqual(["delete", "get", "patch"]);
    const schema = (op: any, status: string) => op.responses[status].content["application/json"].schema;
    expect(schema(base.post, "201").properties.secret).toBeDefined();
    expect(schema(one.get, "200").properties.secret).toBeUndefined();
    expect(schema(one.get, "200").properties.status.properties.deadLetteredRows).toBeDefined();
  });

  it("refuses metadata, link-local and unallowed private addresses when saved", async () => {
    const before = (await w.owner.get(url(""))).body.destinations.length;
    for (const [target, code] of [
      ["http://169.254.169.254/latest/meta-data", "WEBHOOK_URL_FORBIDDEN_ADDRESS"],
      ["http://[fe80::1]/hook", "WEBHOOK_URL_FORBIDDEN_ADDRESS"],
      ["http://metadata.google.internal/computeMetadata", "WEBHOOK_URL_FORBIDDEN_ADDRESS"],
      ["http://10.1.2.3/hook", "WEBHOOK_URL_PRIVATE_ADDRESS"],
      ["http://192.168.1.10/hook", "WEBHOOK_URL_PRIVATE_ADDRESS"],
      ["ftp://example.com/hook", "WEBHOOK_URL_UNSUPPORTED_SCHEME"],
      ["https://user:pw@example.com/hook", "WEBHOOK_URL_CREDENTIALS_IN_URL"],
    ] as const) {
      const res = await w.owner.post(url(""), { kind: "webhook", url: target });
      expect(res.status, target).toBe(400);
      expect(res.body.error.code, target).toBe(code);
    }
    expect((await w.owner.get(url(""))).body.destinations).toHaveLength(before);
  });

  it("delivers every row once, signed and in order; bodies only where stored; a long request in a later batch", async () => {
    const earlier = await w.chat(w.keys.logged, "logged before the destination existed");
    const dest = await createDestination(w.owner, w.slug, `${rx.base}/stream`);
    // A streamed request of a few seconds (longer than the quick bound) runs while quick ones start and end.
    const slow = w.owner
      .post(
        "/v1/chat/completions",
        { model: "mock/lorem", stream: true, max_tokens: 150, messages: [{ role: "user", content: "a long one" }] },
        { authorization: `Bearer ${w.keys.plain}` },
      )
      .then((res) => {
        expect(res.status).toBe(200);
        return String(res.headers["x-request-id"]);
      });
    const quick: string[] = [];
    for (let i = 0; i < 12; i++)
      quick.push(await w.chat(i % 2 ? w.keys.logged : w.keys.plain, `row ${i} for the log stream`));
    const slowId = await slow;
    const want = [...quick, slowId];
    await rx.until(() => want.every((id) => ids(rx.accepted("/stream")).includes(id)), 30_000, "every row at /stream");

    const posts = rx.posts.filter((p) => p.path === "/stream");
    const bodies = posts.map((p) => verified(p, dest.secret));
    for (const b of bodies) expect(b).toMatchObject({ destinationId: dest.id, orgId });
    const got = rx.accepted("/stream");
    // No failure happened, so nothing was sent twice; the row logged before the destination is not sent.
    expect(ids(got).sort()).toEqual([...want].sort());
    expect(ids(got)).not.toContain(earlier);
    // In order within each stream; the long request comes after the quick ones that started after it.
    expectStreamOrder(got);
    const slowRow = got.find((r) => r.requestId === slowId)!;
    expect(isQuick(slowRow)).toBe(false);
    const startedLater = got.filter((r) => isQuick(r) && r.createdAt > slowRow.createdAt);
    expect(startedLater.length).toBeGreaterThan(5);
    for (const r of startedLater) expect(got.indexOf(r)).toBeLessThan(got.indexOf(slowRow));
    // Bodies as the logs API shows them: kept where the project stores them, null elsewhere; never the key.
    for (const r of got) {
      expect(r.project).toMatch(/^(logged|plain)$/);
      if (r.project === "logged") expect(JSON.stringify(r.requestBody)).toContain("for the log stream");
      else expect(r.requestBody).toBeNull();
    }
    for (const p of posts) for (const key of Object.values(w.keys)) expect(p.body).not.toContain(key);

    await vi.waitFor(
      async () => {
        const s = await status(dest.id);
        expect(s).toMatchObject({ state: "delivering", deliveredRows: want.length, backlog: 0, deadLetteredRows: 0 });
        expect(s.lastDeliveryAt).not.toBeNull();
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it("pauses and resumes: rows logged while paused wait, then arrive", async () => {
    const dest = await createDestination(w.owner, w.slug, `${rx.base}/paused`);
    expect((await w.owner.patch(url(`/${dest.id}`), { enabled: false })).status).toBe(200);
    const logged = [await w.chat(w.keys.plain, "while paused 1"), await w.chat(w.keys.plain, "while paused 2")];
    await t.app.flushLogs();
    expect(await status(dest.id)).toMatchObject({ state: "paused", backlog: 2 });
    expect((await w.owner.patch(url(`/${dest.id}`), { enabled: true })).body.status.state).toBe("delivering");
    await rx.until(() => logged.every((id) => ids(rx.accepted("/paused")).includes(id)), 20_000, "the paused rows");
    expect(ids(rx.accepted("/paused")).sort()).toEqual([...logged].sort());
  });

  it("survives a receiver outage of 30 s: every row logged meanwhile arrives, none lost", {
    timeout: 120_000,
  }, async () => {
    const dest = await createDestination(w.owner, w.slug, `${rx.base}/outage`);
    const outageMs = 30_000;
    const downUntil = Date.now() + outageMs;
    const answer = rx.state.answer;
    rx.state.answer = (path) => (path === "/outage" && Date.now() < downUntil ? 503 : answer(path));
    const refused = () => rx.posts.filter((p) => p.path === "/outage" && p.status === 503).length;

    // Traffic all through the outage: one more request after each refused attempt.
    const logged: string[] = [];
    let seen = 0;
    let checkedStatus = false;
    while (Date.now() < downUntil) {
      logged.push(await w.chat(logged.length % 2 ? w.keys.logged : w.keys.plain, `during the outage ${logged.length}`));
      await rx.until(() => refused() > seen || Date.now() >= downUntil, outageMs + 10_000, "a delivery attempt");
      seen = refused();
      if (!checkedStatus && seen >= 5 && Date.now() < downUntil - 2_000) {
        // The dashboard's view while the receiver is down: retrying, the error, rows waiting.
        const s = await status(dest.id);
        expect(s.state).toBe("retrying");
        expect(s.failures).toBeGreaterThan(0);
        expect(s.lastError).toBe("answered 503");
        expect(s.backlog).toBeGreaterThan(0);
        expect(s.nextAttemptAt).not.toBeNull();
        checkedStatus = true;
      }
    }
    expect(checkedStatus).toBe(true);
    await rx.until(
      () => logged.every((id) => ids(rx.accepted("/outage")).includes(id)),
      30_000,
      "every row logged during the outage",
    );

    const posts = rx.posts.filter((p) => p.path === "/outage");
    for (const p of posts) verified(p, dest.secret);
    const firstOk = posts.find((p) => p.status < 300)!;
    expect(firstOk.at).toBeGreaterThanOrEqual(downUntil);
    expect(refused()).toBeGreaterThanOrEqual(15); // retried with backoff all along (capped at 1 s here)
    expect(logged.length).toBeGreaterThanOrEqual(15);
    // Receivers dedupe by request id: after that, exactly the rows logged, in order.
    const got = rx.accepted("/outage");
    const unique = [...new Map(got.map((r) => [r.requestId, r])).values()];
    expect(ids(unique).sort()).toEqual([...logged].sort());
    expectStreamOrder(unique);

    await vi.waitFor(
      async () => {
        const s = await status(dest.id);
        expect(s).toMatchObject({ state: "delivering", failures: 0, backlog: 0, deadLetteredRows: 0 });
        expect(s.lastError).toBe("answered 503");
        expect(new Date(s.lastDeliveryAt).getTime()).toBeGreaterThanOrEqual(downUntil - 1_000);
      },
      { timeout: 15_000, interval: 200 },
    );
  });
});

describe(`log destinations across replicas (${storageKind})`, () => {
  let t: TestApp;
  let rx: Receiver;
  let w: Awaited<ReturnType<typeof world>>;
  const replicas: App[] = [];
  const silent = pino({ level: "silent" });

  /** Another full app on the same database, with its own delivery loop (as a second server process would be). */
  async function replica(timings: Partial<DeliveryTimings>) {
    const app = await buildApp({ config: t.config, database: t.database, logger: silent, logDestinations: timings });
    await app.server.ready();
    replicas.push(app);
    return app;
  }
  const status = async (id: string) => {
    const res = await w.owner.get(`/api/v1/orgs/${w.slug}/log-destinations/${id}`);
    expect(res.status).toBe(200);
    return res.body.status as Record<string, any>;
  };
  const holder = async (id: string) =>
    (await rows<{ holder: string }>(t, sql`select holder from job_leases where name = ${`log-destination:${id}`}`))[0]
      ?.holder;

  beforeAll(async () => {
    rx = await startReceiver();
    // This app serves the API and the gateway; its own loop stays idle, the replicas below deliver.
    t = await startTestApp({ env: ENV, appOptions: { logDestinations: { pollMs: 2_000_000_000 } } });
    w = await world(t, "Replica Co");
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await t?.close();
    await rx?.close();
  });

  it("dead-letters a batch after the attempt limit: skipped, counted and shown; later rows still flow", async () => {
    const r = await replica({ ...FAST, maxAttempts: 3 });
    let failing = true;
    rx.state.answer = (path) => (path === "/dead" && failing ? 500 : 200);
    const dest = await createDestination(w.owner, w.slug, `${rx.base}/dead`);
    const lost: string[] = [];
    for (let i = 0; i < 5; i++) lost.push(await w.chat(w.keys.plain, `dead ${i}`));
    await vi.waitFor(async () => expect((await status(dest.id)).deadLetteredRows).toBe(5), {
      timeout: 20_000,
      interval: 200,
    });
    const s = await status(dest.id);
    expect(s.deadLetteredBatches).toBeGreaterThanOrEqual(1);
    expect(s.lastError).toMatch(/dead-lettered after 3 attempts: answered 500$/);
    expect(s).toMatchObject({ failures: 0, deliveredRows: 0, backlog: 0 });
    // Each dead-lettered batch was tried exactly the limit, and every row was in one.
    const attempts = rx.posts.filter((p) => p.path === "/dead");
    expect(attempts.length).toBe(3 * s.deadLetteredBatches);
    const tried = new Set(attempts.flatMap((p) => ids(verified(p, dest.secret).rows)));
    expect([...tried].sort()).toEqual([...lost].sort());

    failing = false;
    const later = [await w.chat(w.keys.plain, "after the dead letter")];
    await rx.until(() => ids(rx.accepted("/dead")).includes(later[0]!), 20_000, "the row after the dead letter");
    expect(ids(rx.accepted("/dead"))).toEqual(later);
    await vi.waitFor(
      async () => expect(await status(dest.id)).toMatchObject({ deliveredRows: 1, deadLetteredRows: 5, failures: 0 }),
      { timeout: 10_000, interval: 200 },
    );
    await r.close();
    replicas.splice(replicas.indexOf(r), 1);
  });

  it("one loop per destination at a time; a replica that shuts down hands over, and nothing is lost", async () => {
    rx.state.answer = () => 200;
    const first = await replica(FAST);
    const dest = await createDestination(w.owner, w.slug, `${rx.base}/replicas`);
    const logged: string[] = [];
    const send = async (n: number, label: string) => {
      for (let i = 0; i < n; i++) logged.push(await w.chat(w.keys.logged, `${label} ${i}`));
      await rx.until(() => logged.every((id) => ids(rx.accepted("/replicas")).includes(id)), 20_000, label);
    };
    await send(8, "one replica");
    const firstHolder = await holder(dest.id);
    expect(firstHolder).toBeTruthy();

    // A second replica polls too, but the first keeps the lease: each row is sent once.
    await replica(FAST);
    await send(8, "two replicas");
    expect(await holder(dest.id)).toBe(firstHolder);
    expect(ids(rx.accepted("/replicas")).sort()).toEqual([...logged].sort());

    // The first shuts down (its lease is handed back): the second resumes from the saved cursor.
    await first.close();
    replicas.splice(replicas.indexOf(first), 1);
    await send(8, "after the handover");
    expect(await holder(dest.id)).not.toBe(firstHolder);
    const got = rx.accepted("/replicas");
    const unique = [...new Map(got.map((r) => [r.requestId, r])).values()];
    expect(ids(unique).sort()).toEqual([...logged].sort());
    expectStreamOrder(unique);
    for (const p of rx.posts.filter((x) => x.path === "/replicas")) verified(p, dest.secret);
  });
});
