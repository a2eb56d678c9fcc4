/**
 * Request-log bodies (`logBodies`) never keep what the security policy
 * protects. For every PII type, secret kind and a content rule, under each
 * action (redact with restoring, mask, block; secrets at log and off), on
 * /v1/chat/completions (plain, streamed, tool calls both ways), /v1/messages
 * (plain, streamed) and /v1/embeddings, for requests refused before the
 * pipeline and at the 64 KiB cap: the raw value is in no log detail, export,
 * search result (`q`) or stored row, while what the policy lets through is kept.
 */
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { rows, team } from "./helpers/fixtures.js";

const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const rand = (n: number, alphabet = B62) => Array.from(randomBytes(n), (x) => alphabet[x % alphabet.length]).join("");
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** Built from pieces so no literal key sits in the repository; `needle` is the part no mask keeps. */
const secret = (prefix: string, body: string, suffix = "") => ({
  value: prefix + body + suffix,
  needle: body.slice(0, 24),
});
const SECRETS = {
  openai: secret("sk-proj-", `${rand(62)}7x`),
  anthropic: secret(["sk-", "ant-", "api03-"].join(""), `${rand(91)}7x`),
  aws: secret("AKIA", rand(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
  github: secret("ghp_", rand(36)),
  jwt: secret(`${b64url({ alg: "HS256", typ: "JWT" })}.${b64url({ sub: "42" })}.`, rand(43)),
  pem: secret(["-----BEGIN ", "PRIVATE KEY-----\n"].join(""), rand(64), `\n${rand(64)}\n-----END PRIVATE KEY-----`),
};
const PII = {
  email: "ann.lee@example.com",
  phone: "+1 415 555 2671",
  card: "4111 1111 1111 1111",
  ssn: "123-45-6789",
  iban: "DE89 3704 0044 0532 0130 00",
  ip: "10.20.30.40",
};
const RULE_WORD = "Bluefin";
const KEPT = "kept.by.policy@example.com";

const SECRET_TEXT = `Keys ${SECRETS.openai.value}, ${SECRETS.anthropic.value}, ${SECRETS.aws.value}, ${SECRETS.github.value}, token ${SECRETS.jwt.value} and\n${SECRETS.pem.value}\nend.`;
const PII_TEXT = `Mail ${PII.email}, call ${PII.phone}, card ${PII.card}, SSN ${PII.ssn}, IBAN ${PII.iban}, host ${PII.ip}. ${SECRET_TEXT}`;
const PROTECTED_TEXT = `Project ${RULE_WORD}: ${PII_TEXT}`;
/** Secrets must be masked whatever the action; PII at log/off is the policy's choice to keep. */
const KEPT_TEXT = `Reach me at ${KEPT}. ${SECRET_TEXT}`;

/** Never stored, anywhere: the PII values, the rule's word and every secret (whole, and the part a mask never keeps). */
const NEEDLES = [...Object.values(PII), RULE_WORD, ...Object.values(SECRETS).flatMap((s) => [s.value, s.needle])];

type Action = "off" | "log" | "mask" | "redact" | "block";
const every = (action: Action) => ({
  email: action,
  phone: action,
  card: action,
  ssn: action,
  iban: action,
  ip: action,
  secret: action,
});
/** `shows`: in the logged request; `client`: in the answer the client received; `logged`: in the logged answer. */
const CASES: Array<{
  name: string;
  pii: ReturnType<typeof every>;
  rule: boolean;
  restore?: boolean;
  status: number;
  text: string;
  shows: string[];
  client: string;
  logged: string;
}> = [
  {
    name: "redact (restored in the answer)",
    pii: every("redact"),
    rule: true,
    restore: true,
    status: 200,
    text: PROTECTED_TEXT,
    shows: ["[EMAIL_1]", "[CARD_1]", "[REDACTED_1]", "[SECRET_1]"],
    client: PII.email,
    logged: "[EMAIL_1]",
  },
  {
    name: "mask",
    pii: every("mask"),
    rule: true,
    status: 200,
    text: PROTECTED_TEXT,
    shows: ["a***@example.com", "**** **** **** 1111", "B*****n", "sk-ant-…"],
    client: "sk-ant-…",
    logged: "sk-ant-…",
  },
  {
    name: "block",
    pii: every("block"),
    rule: true,
    status: 403,
    text: PROTECTED_TEXT,
    shows: ["a***@example.com", "***-**-6789", "B*****n", "sk-ant-…", "-----BEGIN PRIVATE KEY-----[…]"],
    client: "",
    logged: "",
  },
  {
    name: "secrets at log",
    pii: every("log"),
    rule: false,
    status: 200,
    text: KEPT_TEXT,
    shows: [KEPT, "sk-proj-…", "AKIA…", "ghp_…"],
    client: SECRETS.anthropic.value,
    logged: "sk-ant-…",
  },
  {
    name: "secrets off (no policy)",
    pii: every("off"),
    rule: false,
    status: 200,
    text: KEPT_TEXT,
    shows: [KEPT, "sk-ant-…", "eyJ…"],
    client: SECRETS.github.value,
    logged: "ghp_…",
  },
];

const tools = [
  {
    type: "function",
    function: { name: "note", parameters: { type: "object", properties: { text: { type: "string" } } } },
  },
];
/** One request per API and shape; every one carries the case's text where the API allows it. */
const VARIANTS: Array<{ name: string; url: string; body(text: string): Record<string, unknown>; answer: boolean }> = [
  {
    name: "chat, text and tool-call arguments in the history",
    url: "/v1/chat/completions",
    answer: true,
    body: (text) => ({
      model: "mock/echo",
      messages: [
        { role: "system", content: `Be brief. ${text}` },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "note", arguments: JSON.stringify({ text }) } }],
        },
        { role: "tool", tool_call_id: "c1", content: text },
        { role: "user", content: text },
      ],
    }),
  },
  {
    name: "chat, streamed",
    url: "/v1/chat/completions",
    answer: true,
    body: (text) => ({ model: "mock/echo", stream: true, messages: [{ role: "user", content: text }] }),
  },
  {
    name: "chat, tool call in the answer",
    url: "/v1/chat/completions",
    answer: true,
    body: (text) => ({
      model: "mock/echo",
      tools,
      tool_choice: "required",
      messages: [{ role: "user", content: text }],
    }),
  },
  // Two text blocks: the canonical request joins them, so the log scans the blocks itself.
  {
    name: "messages",
    url: "/v1/messages",
    answer: true,
    body: (text) => ({
      model: "mock/echo",
      max_tokens: 400,
      system: text,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Note: " },
            { type: "text", text },
          ],
        },
      ],
    }),
  },
  {
    name: "messages, streamed",
    url: "/v1/messages",
    answer: true,
    body: (text) => ({
      model: "mock/echo",
      max_tokens: 400,
      stream: true,
      messages: [{ role: "user", content: text }],
    }),
  },
  {
    name: "embeddings",
    url: "/v1/embeddings",
    answer: false,
    body: (text) => ({ model: "mock/embed", input: [text, "plain"] }),
  },
];

describe(`request-log bodies keep nothing the policy protects (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let slug: string;
  let orgId: string;
  let key: string;
  let logged = 0;

  const newKey = async (project: string) =>
    (await owner.post(`/api/v1/orgs/${slug}/projects/${project}/keys`, { name: "k", environment: "live" })).body
      .key as string;
  const setPolicy = async (c: (typeof CASES)[number]) => {
    const rules = c.rule ? [{ name: "codename", type: "keyword", pattern: RULE_WORD, action: c.pii.email }] : [];
    const res = await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
      pii: c.pii,
      promptInjection: { action: "off" },
      rules,
      restoreRedactions: c.restore ?? false,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  const send = async (apiKey: string, url: string, body: unknown) => {
    const res = await t.app.server.inject({
      method: "POST",
      url,
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      payload: JSON.stringify(body),
    });
    logged++;
    return { status: res.statusCode, id: String(res.headers["x-request-id"]), body: res.body };
  };
  /** The log detail of a request, checked against the raw values; returns the bodies as JSON text. */
  async function stored(project: string, id: string) {
    const res = await owner.get(`/api/v1/orgs/${slug}/projects/${project}/logs/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [row] = await rows<{ req: string | null; res: string | null }>(
      t,
      sql`select request_body::text as req, response_body::text as res from request_logs where id = ${id}`,
    );
    const request = JSON.stringify(res.body.requestBody);
    const response = JSON.stringify(res.body.responseBody);
    for (const n of NEEDLES) {
      expect(request, `request body keeps ${n}`).not.toContain(n);
      expect(response, `response body keeps ${n}`).not.toContain(n);
      expect(`${row!.req} ${row!.res}`, `stored row keeps ${n}`).not.toContain(n);
    }
    return { request, response, detail: res.body };
  }

  beforeAll(async () => {
    t = await startTestApp();
    const x = await team(t, "Log Bodies Co");
    ({ owner, slug } = x);
    orgId = x.org.id;
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod", logBodies: true })).status,
    ).toBe(201);
    key = await newKey("prod");
  });
  afterAll(async () => {
    await t.close();
  });

  describe.each(CASES)("$name", (c) => {
    it.each(VARIANTS)("$name", async (v) => {
      await setPolicy(c);
      const res = await send(key, v.url, v.body(c.text));
      expect(res.status, res.body.slice(0, 300)).toBe(c.status);
      if (c.status === 200 && v.answer) expect(res.body).toContain(c.client);
      await t.app.flushLogs();
      const { request, response, detail } = await stored("prod", res.id);
      for (const s of c.shows) expect(request, s).toContain(s);
      if (c.status === 200 && v.answer) expect(response).toContain(c.logged);
      if (c.status !== 200) expect(detail.errorCode).toBe("policy_violation");
    });
  });

  // Without the policy at hand a refusal's log knows no content rule: these bodies carry none.
  it("a request refused before the pipeline is masked too, with the policy cached or not", async () => {
    await setPolicy(CASES[0]!);
    expect(
      (
        await owner.post(`/api/v1/orgs/${slug}/projects`, {
          name: "Limited",
          slug: "limited",
          logBodies: true,
          rateLimit: { tpm: 400 },
        })
      ).status,
    ).toBe(201);
    const limited = await newKey("limited");
    expect(
      (
        await send(limited, "/v1/chat/completions", {
          model: "mock/echo",
          messages: [{ role: "user", content: "w ".repeat(600) }],
        })
      ).status,
    ).toBe(200);
    const refused = [await send(limited, "/v1/chat/completions", VARIANTS[0]!.body(PII_TEXT))];
    // A policy change drops the cached policy: the refusal path never loads it.
    await setPolicy(CASES[1]!);
    refused.push(
      await send(limited, "/v1/messages", VARIANTS[3]!.body(PII_TEXT)),
      await send(limited, "/v1/embeddings", VARIANTS[5]!.body(PII_TEXT)),
    );
    await t.app.flushLogs();
    for (const r of refused) {
      expect(r.status).toBe(429);
      const { request, detail } = await stored("limited", r.id);
      expect(detail.errorCode).toBe("rate_limit_exceeded");
      expect(request).toContain("mock/");
      expect(request).toMatch(/\[SECRET_\d\]|sk-ant-…/);
    }
  });

  it("masks before the 64 KiB cap: a secret the cap cuts is not half-stored", async () => {
    await setPolicy(CASES[4]!);
    const { value } = SECRETS.anthropic;
    const open =
      JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "" }] }).indexOf('content":"') +
      'content":"'.length;
    // The secret starts 20 characters before the cap in the body as sent.
    const content = `${"x".repeat(64 * 1024 - 20 - open - 1)} ${value} tail`;
    const res = await send(key, "/v1/chat/completions", { model: "mock/echo", messages: [{ role: "user", content }] });
    expect(res.status).toBe(200);
    await t.app.flushLogs();
    const { detail } = await stored("prod", res.id);
    for (const body of [detail.requestBody, detail.responseBody]) {
      expect(body.truncated).toBe(true);
      expect(body.preview).not.toContain(value.slice(0, 16));
    }
    expect(detail.requestBody.preview).toContain("sk-ant-…");
  });

  it("no search, export or stored row of the organization holds a raw value", async () => {
    await t.app.flushLogs();
    const base = `/api/v1/orgs/${slug}/projects`;
    // The search does read bodies: masked values are found.
    expect(
      (await owner.get(`${base}/prod/logs?q=${encodeURIComponent("**** **** **** 1111")}`)).body.logs.length,
    ).toBeGreaterThan(0);
    for (const project of ["prod", "limited"]) {
      for (const n of NEEDLES.filter((n) => n.length <= 200 && !n.includes("\n"))) {
        const found = await owner.get(`${base}/${project}/logs?q=${encodeURIComponent(n)}&limit=200`);
        expect(found.status).toBe(200);
        expect(found.body.logs, `q=${n}`).toEqual([]);
      }
      for (const format of ["csv", "jsonl"]) {
        const res = await t.app.server.inject({
          method: "GET",
          url: `${base}/${project}/logs/export?format=${format}`,
          headers: { cookie: owner.cookie },
        });
        expect(res.statusCode).toBe(200);
        expect(res.body.trim().split("\n").length).toBeGreaterThan(2);
        for (const n of NEEDLES) expect(res.body, `${format} export keeps ${n}`).not.toContain(n);
      }
    }
    const all = await rows<{ body: string }>(
      t,
      sql`select coalesce(request_body::text, '') || ' ' || coalesce(response_body::text, '') as body from request_logs where org_id = ${orgId}`,
    );
    expect(all).toHaveLength(logged);
    for (const r of all) for (const n of NEEDLES) expect(r.body).not.toContain(n);
  });
});
