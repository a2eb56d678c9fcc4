/**
 * Every money field of the management API refuses a bad amount with 400
 * VALIDATION_ERROR naming the field — never a 500, never a silent rounding —
 * and writes nothing: custom provider prices (create and update), a project's
 * monthly spend cap (create and update), checkout, auto top-up and alert
 * thresholds. A good amount in the same place is accepted (the table is not
 * refusing everything).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, createOrg } from "./helpers/fixtures.js";

type Method = "post" | "patch" | "put";

interface MoneyField {
  endpoint: string;
  method: Method;
  url: (org: string) => string;
  body: (value: unknown) => Record<string, unknown>;
  /** The field's path in the error details. */
  path: string;
  nullable?: boolean;
  /** At most 2 decimals (card payments). */
  cents?: boolean;
  good: unknown;
  /** The status a good value answers with (checkout: Stripe is not configured here). */
  goodStatus: number;
}

let n = 0;
const model = (field: string, value: unknown) => ({ id: "m", [field]: value });
const provider = (field: string) => (value: unknown) => ({
  name: "Acme",
  slug: `acme-${++n}`,
  format: "openai",
  baseUrl: "https://api.example.com/v1",
  models: [model(field, value)],
});

const FIELDS: MoneyField[] = [
  ...["inputPricePerMillion", "cachedInputPricePerMillion", "outputPricePerMillion"].map((f) => ({
    endpoint: "POST /providers",
    method: "post" as const,
    url: (org: string) => `/api/v1/orgs/${org}/providers`,
    body: provider(f),
    path: `body.models.0.${f}`,
    good: "0.15",
    goodStatus: 201,
  })),
  {
    endpoint: "PATCH /providers/{provider}",
    method: "patch",
    url: (org) => `/api/v1/orgs/${org}/providers/existing`,
    body: (v) => ({
      models: [model("inputPricePerMillion", "1"), model("outputPricePerMillion", v)].map((m, i) => ({
        ...m,
        id: `m${i}`,
      })),
    }),
    path: "body.models.1.outputPricePerMillion",
    good: 2.5,
    goodStatus: 200,
  },
  {
    endpoint: "POST /projects",
    method: "post",
    url: (org) => `/api/v1/orgs/${org}/projects`,
    body: (v) => ({ name: "Capped", slug: `capped-${++n}`, monthlySpendCapUsd: v }),
    path: "body.monthlySpendCapUsd",
    nullable: true,
    good: "250.5",
    goodStatus: 201,
  },
  {
    endpoint: "PATCH /projects/{project}",
    method: "patch",
    url: (org) => `/api/v1/orgs/${org}/projects/main`,
    body: (v) => ({ monthlySpendCapUsd: v }),
    path: "body.monthlySpendCapUsd",
    nullable: true,
    good: 99.99,
    goodStatus: 200,
  },
  {
    endpoint: "POST /billing/checkout",
    method: "post",
    url: (org) => `/api/v1/orgs/${org}/billing/checkout`,
    body: (v) => ({ amountUsd: v }),
    path: "body.amountUsd",
    cents: true,
    good: "25",
    goodStatus: 409,
  },
  {
    endpoint: "PUT /billing/auto-topup",
    method: "put",
    url: (org) => `/api/v1/orgs/${org}/billing/auto-topup`,
    body: (v) => ({ enabled: false, thresholdUsd: v, amountUsd: "20" }),
    path: "body.thresholdUsd",
    cents: true,
    good: "5",
    goodStatus: 200,
  },
  {
    endpoint: "PUT /billing/auto-topup",
    method: "put",
    url: (org) => `/api/v1/orgs/${org}/billing/auto-topup`,
    body: (v) => ({ enabled: false, thresholdUsd: "5", amountUsd: v }),
    path: "body.amountUsd",
    cents: true,
    good: 20,
    goodStatus: 200,
  },
  {
    endpoint: "PUT /billing/alerts",
    method: "put",
    url: (org) => `/api/v1/orgs/${org}/billing/alerts`,
    body: (v) => ({ lowBalanceUsd: v, monthlyBudgetUsd: null, webhookUrl: null }),
    path: "body.lowBalanceUsd",
    nullable: true,
    good: "10",
    goodStatus: 200,
  },
  {
    endpoint: "PUT /billing/alerts",
    method: "put",
    url: (org) => `/api/v1/orgs/${org}/billing/alerts`,
    body: (v) => ({ lowBalanceUsd: null, monthlyBudgetUsd: v, webhookUrl: null }),
    path: "body.monthlyBudgetUsd",
    nullable: true,
    good: 500,
    goodStatus: 200,
  },
];

const BAD: Array<[what: string, value: unknown]> = [
  ["exponent notation (string)", "1e-7"],
  ["exponent notation (number)", 1e-7],
  ["exponent notation, capital E", "2.5E3"],
  ["a number only exponent notation can write", 1e21],
  ["7 decimals (string)", "0.0000001"],
  ["7 decimals (number)", 0.1234567],
  ["float noise", 0.1 + 0.2],
  ["negative (string)", "-1"],
  ["negative (number)", -1],
  ["explicit plus sign", "+5"],
  ["NaN", "NaN"],
  ["Infinity", "Infinity"],
  ["-Infinity", "-Infinity"],
  ["huge (string)", "99999999999999999999999999"],
  ["huge (number)", 123456789012345680000],
  ["a long string", "1".repeat(5000)],
  ["empty string", ""],
  ["decimal comma", "12,50"],
  ["hex", "0x10"],
  ["words", "ten dollars"],
  ["boolean", true],
  ["object", { usd: "1" }],
  ["array", ["1"]],
];

const cases = FIELDS.flatMap((f) => [
  ...BAD.map(([what, value]) => ({ ...f, what, value })),
  ...(f.nullable ? [] : [{ ...f, what: "null", value: null as unknown }]),
  ...(f.cents ? [{ ...f, what: "finer than a cent", value: "10.001" as unknown }] : []),
]);

describe(`money input over HTTP (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let org: string;
  let written: () => Promise<number[]>;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await t.signUp();
    org = (await createOrg(owner)).slug;
    expect((await owner.post(`/api/v1/orgs/${org}/projects`, { name: "Main", slug: "main" })).status).toBe(201);
    const p = await owner.post(`/api/v1/orgs/${org}/providers`, {
      name: "Existing",
      slug: "existing",
      format: "openai",
      baseUrl: "https://api.example.com/v1",
      models: [{ id: "m" }],
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    written = async () =>
      Promise.all(["custom_providers", "projects", "audit_log", "billing_settings"].map((table) => count(t, table)));
  });
  afterAll(() => t.close());

  it.each(cases)("$endpoint $path: $what → 400 VALIDATION_ERROR", async ({ method, url, body, path, value }) => {
    const before = await written();
    const res = await owner[method](url(org), body(value));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.message).toContain(path);
    expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect(await written()).toEqual(before);
  });

  it.each(FIELDS)(
    "$endpoint $path: a good amount ($good) is accepted",
    async ({ method, url, body, good, goodStatus }) => {
      const res = await owner[method](url(org), body(good));
      expect(res.status, JSON.stringify(res.body)).toBe(goodStatus);
      if (goodStatus === 409) expect(res.body.error.code).toBe("STRIPE_NOT_CONFIGURED");
    },
  );

  it("amounts are stored exactly, whether sent as strings or numbers", async () => {
    const p = await owner.patch(`/api/v1/orgs/${org}/providers/existing`, {
      models: [{ id: "m", inputPricePerMillion: 0.000001, outputPricePerMillion: "1000000" }],
    });
    expect(p.status).toBe(200);
    expect(p.body.models[0]).toMatchObject({
      inputPricePerMillionUsd: "0.000001",
      outputPricePerMillionUsd: "1000000.000000",
    });
    const cap = await owner.patch(`/api/v1/orgs/${org}/projects/main`, { monthlySpendCapUsd: 0.1 });
    expect(cap.body).toMatchObject({ monthlySpendCapMicroUsd: "100000", monthlySpendCapUsd: "0.100000" });
  });
});
