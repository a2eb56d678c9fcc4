/**
 * Adding credits through the API: Checkout top-ups (packs, custom amounts and
 * their bounds), saved payment methods (list, add, default, remove — never
 * another organization's), auto top-up (once per crossing across replicas,
 * re-armed by a credit, disarmed by a decline), who may do what, and what an
 * instance without Stripe says. The real `stripe` SDK talks to the loopback
 * fake (test/fakes/stripe.ts).
 */
import { sql } from "drizzle-orm";
import pino from "pino";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBillingCommand } from "../src/modules/billing/billing.cli.js";
import { createPaymentsService } from "../src/modules/payments/payments.service.js";
import { createStripeClient } from "../src/modules/payments/stripe.client.js";
import { type Client, OMIT, PUBLIC_URL, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, count, grantCredits, rows, team } from "./helpers/fixtures.js";
import { type FakeStripe, startFakeStripe } from "./fakes/stripe.js";

const WHSEC = "whsec_test_payments_0123456789abcdefghij";

describe(`payments with Stripe (${storageKind})`, () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    t = await startTestApp({
      env: {
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: WHSEC,
        STRIPE_API_URL: stripe.url,
        TOLLGATE_PRICE_OVERRIDES: '{"mock/echo": {"input": "20000", "output": "0"}}',
      },
    });
    const x = await team(t, "Payments Co");
    ({ owner, admin, member, slug } = x);
    orgId = x.org.id;
  });
  afterAll(async () => {
    await t?.close();
    await stripe?.close();
  });

  const customerOf = (id: string) => [...stripe.customers.values()].find((c) => c.metadata.tollgate_org_id === id);
  const deliver = (payload: string) =>
    t.anon.post("/api/v1/webhooks/stripe", payload, {
      "content-type": "application/json",
      origin: OMIT,
      "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload, secret: WHSEC }),
    });
  const balance = async (s = slug) => BigInt((await owner.get(`/api/v1/orgs/${s}/billing`)).body.balanceMicroUsd);

  it("checkout options: packs and bounds", async () => {
    const r = await admin.get(`/api/v1/orgs/${slug}/billing/checkout`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      stripeConfigured: true,
      packsUsd: ["10", "25", "50", "100"],
      minUsd: "5.000000",
      maxUsd: "10000.000000",
      currency: "usd",
    });
  });

  it("checkout: a pack and a custom amount create Checkout Sessions for the org's one customer; the URL comes back; the payment is recorded open with an audit row", async () => {
    const a = await owner.post(`/api/v1/orgs/${slug}/billing/checkout`, { amountUsd: "25" });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(a.body.url).toMatch(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_/);
    const b = await owner.post(`/api/v1/orgs/${slug}/billing/checkout`, { amountUsd: 12.34 });
    expect(b.status).toBe(201);
    const sa = stripe.sessions.get(a.body.id)!;
    const sb = stripe.sessions.get(b.body.id)!;
    expect(sa).toMatchObject({
      mode: "payment",
      amount_total: 2500,
      currency: "usd",
      metadata: { tollgate_org_id: orgId, tollgate_amount_micro_usd: "25000000" },
    });
    expect(sb.amount_total).toBe(1234);
    expect(sa.customer).toBe(sb.customer);
    expect(sa.success_url).toBe(
      `${PUBLIC_URL}/${slug}/settings/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    );
    expect(sa.cancel_url).toBe(`${PUBLIC_URL}/${slug}/settings/billing?checkout=cancelled`);
    expect([...stripe.customers.values()].filter((c) => c.metadata.tollgate_org_id === orgId)).toHaveLength(1);
    const payments = await rows<{ id: string; status: string; amount: string }>(
      t,
      sql`select id, status, amount_micro_usd::text as amount from billing_payments where org_id = ${orgId} order by created_at`,
    );
    expect(payments).toEqual([
      { id: a.body.id, status: "open", amount: "25000000" },
      { id: b.body.id, status: "open", amount: "12340000" },
    ]);
    expect((await auditActions(t, orgId)).filter((x) => x === "billing.checkout_created")).toHaveLength(2);
    // Nothing is credited before Stripe says the payment is made.
    expect(await balance()).toBe(0n);
  });

  it("checkout refuses amounts out of bounds or finer than a cent, and unknown fields, without calling Stripe", async () => {
    const before = stripe.requests.length;
    const cases: Array<[unknown, string]> = [
      [{ amountUsd: "4.99" }, "AMOUNT_OUT_OF_RANGE"],
      [{ amountUsd: "10000.01" }, "AMOUNT_OUT_OF_RANGE"],
      // The amount's form is the body schema's business: 400 VALIDATION_ERROR naming amountUsd.
      [{ amountUsd: "10.001" }, "VALIDATION_ERROR"],
      [{ amountUsd: "-10" }, "VALIDATION_ERROR"],
      [{ amountUsd: "1e3" }, "VALIDATION_ERROR"],
      [{ amountUsd: "ten" }, "VALIDATION_ERROR"],
      [{ amountUsd: "10", orgId: "other" }, "VALIDATION_ERROR"],
      [{}, "VALIDATION_ERROR"],
    ];
    for (const [body, code] of cases) {
      const r = await owner.post(`/api/v1/orgs/${slug}/billing/checkout`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code, JSON.stringify(body)).toBe(code);
    }
    expect(stripe.requests.length).toBe(before);
  });

  it("roles: owner manages; admin reads payment methods and auto top-up but cannot change them; member 403; another org's owner 404", async () => {
    const outsider = await t.signUp();
    for (const [c, status] of [
      [admin, 200],
      [member, 403],
      [outsider, 404],
    ] as const) {
      expect((await c.get(`/api/v1/orgs/${slug}/billing/payment-methods`)).status).toBe(status);
      expect((await c.get(`/api/v1/orgs/${slug}/billing/auto-topup`)).status).toBe(status);
    }
    for (const c of [admin, member, outsider]) {
      const want = c === outsider ? 404 : 403;
      expect((await c.post(`/api/v1/orgs/${slug}/billing/checkout`, { amountUsd: "10" })).status).toBe(want);
      expect((await c.post(`/api/v1/orgs/${slug}/billing/payment-methods/setup`)).status).toBe(want);
      expect((await c.delete(`/api/v1/orgs/${slug}/billing/payment-methods/pm_x`)).status).toBe(want);
      expect((await c.post(`/api/v1/orgs/${slug}/billing/payment-methods/pm_x/default`)).status).toBe(want);
      expect((await c.put(`/api/v1/orgs/${slug}/billing/auto-topup`, { enabled: false })).status).toBe(want);
    }
    expect((await t.anon.get(`/api/v1/orgs/${slug}/billing/payment-methods`)).status).toBe(401);
  });

  it("payment methods: add through Checkout setup mode (the first card becomes the default), list, set default, remove", async () => {
    const setup = await owner.post(`/api/v1/orgs/${slug}/billing/payment-methods/setup`);
    expect(setup.status, JSON.stringify(setup.body)).toBe(201);
    expect(stripe.sessions.get(setup.body.id)).toMatchObject({ mode: "setup", customer: customerOf(orgId)!.id });
    // The user finishes the setup page; Stripe sends checkout.session.completed (mode setup).
    const done = stripe.completeSetup(setup.body.id, { brand: "visa", last4: "4242" });
    expect((await deliver(stripe.event("checkout.session.completed", done))).status).toBe(200);
    let list = await admin.get(`/api/v1/orgs/${slug}/billing/payment-methods`);
    expect(list.body.paymentMethods).toEqual([
      expect.objectContaining({ brand: "visa", last4: "4242", isDefault: true, expMonth: 12, expYear: 2030 }),
    ]);
    const visa = list.body.paymentMethods[0].id as string;

    const mc = stripe.addCard(customerOf(orgId)!.id, { brand: "mastercard", last4: "4444" });
    const def = await owner.post(`/api/v1/orgs/${slug}/billing/payment-methods/${mc.id}/default`);
    expect(def.status).toBe(200);
    expect(def.body).toMatchObject({ id: mc.id, isDefault: true });
    list = await owner.get(`/api/v1/orgs/${slug}/billing/payment-methods`);
    expect(
      list.body.paymentMethods.map((p: { last4: string; isDefault: boolean }) => [p.last4, p.isDefault]).sort(),
    ).toEqual([
      ["4242", false],
      ["4444", true],
    ]);

    expect((await owner.delete(`/api/v1/orgs/${slug}/billing/payment-methods/${visa}`)).status).toBe(204);
    list = await owner.get(`/api/v1/orgs/${slug}/billing/payment-methods`);
    expect(list.body.paymentMethods.map((p: { id: string }) => p.id)).toEqual([mc.id]);
    expect((await owner.delete(`/api/v1/orgs/${slug}/billing/payment-methods/${visa}`)).status).toBe(404);
    expect((await owner.post(`/api/v1/orgs/${slug}/billing/payment-methods/not-a-pm/default`)).status).toBe(400);
    const actions = await auditActions(t, orgId);
    for (const a of [
      "billing.payment_method_setup_started",
      "billing.payment_method_added",
      "billing.payment_method_default_set",
      "billing.payment_method_removed",
    ])
      expect(actions).toContain(a);
  });

  it("another organization's payment method id is refused (404) and left untouched, for remove and for default", async () => {
    const other = await team(t, "Other Co");
    // The other org has its own customer and card.
    expect((await other.owner.post(`/api/v1/orgs/${other.slug}/billing/payment-methods/setup`)).status).toBe(201);
    const theirCard = stripe.addCard(customerOf(other.org.id)!.id, { last4: "1111" });
    // Our owner tries to use their card id in our org's routes.
    const del = await owner.delete(`/api/v1/orgs/${slug}/billing/payment-methods/${theirCard.id}`);
    expect(del.status).toBe(404);
    expect(del.body.error.code).toBe("PAYMENT_METHOD_NOT_FOUND");
    expect((await owner.post(`/api/v1/orgs/${slug}/billing/payment-methods/${theirCard.id}/default`)).status).toBe(404);
    expect(stripe.paymentMethods.get(theirCard.id)!.customer).toBe(customerOf(other.org.id)!.id);
    expect(customerOf(orgId)!.invoice_settings.default_payment_method).not.toBe(theirCard.id);
    // An org with no customer yet: 404 as well.
    const fresh = await team(t, "Fresh Co");
    expect(
      (await fresh.owner.delete(`/api/v1/orgs/${fresh.slug}/billing/payment-methods/${theirCard.id}`)).status,
    ).toBe(404);
    expect(stripe.paymentMethods.get(theirCard.id)!.customer).toBe(customerOf(other.org.id)!.id);
  });

  it("auto top-up settings: validated, needs a default card, audited; admin sees them read-only", async () => {
    const fresh = await team(t, "No Card Co");
    const noCard = await fresh.owner.put(`/api/v1/orgs/${fresh.slug}/billing/auto-topup`, {
      enabled: true,
      thresholdUsd: "5",
      amountUsd: "20",
    });
    expect(noCard.status).toBe(409);
    expect(noCard.body.error.code).toBe("NO_DEFAULT_PAYMENT_METHOD");
    expect((await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, { enabled: true })).body.error.code).toBe(
      "AUTO_TOPUP_INCOMPLETE",
    );
    expect(
      (await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, { enabled: true, thresholdUsd: "5", amountUsd: "1" }))
        .body.error.code,
    ).toBe("AMOUNT_OUT_OF_RANGE");
    // One top-up must lift the balance over the threshold, or every flush would charge again.
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, {
          enabled: true,
          thresholdUsd: "20",
          amountUsd: "20",
        })
      ).body.error.code,
    ).toBe("AUTO_TOPUP_AMOUNT_TOO_SMALL");
    const ok = await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, {
      enabled: true,
      thresholdUsd: "2.90",
      amountUsd: "20",
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({
      enabled: true,
      thresholdMicroUsd: "2900000",
      thresholdUsd: "2.900000",
      amountMicroUsd: "20000000",
      amountUsd: "20.000000",
    });
    expect((await admin.get(`/api/v1/orgs/${slug}/billing/auto-topup`)).body).toMatchObject({
      enabled: true,
      thresholdUsd: "2.900000",
    });
    expect(await auditActions(t, orgId)).toContain("billing.auto_topup_updated");
  });

  it("auto top-up: a usage flush that takes the balance below the threshold charges the default card once; the webhook for that charge credits nothing more", async () => {
    await grantCredits(t, slug, "3");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "App", slug: "topup-app" })).status).toBe(201);
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/topup-app/keys`, { name: "k", environment: "live" }))
      .body.key as string;
    const chat = () =>
      t.anon.post(
        "/v1/chat/completions",
        { model: "mock/echo", max_tokens: 5, messages: [{ role: "user", content: "use some credits please" }] },
        { authorization: `Bearer ${key}` },
      );
    const pisBefore = stripe.paymentIntents.size;
    expect((await chat()).status).toBe(200);
    await t.app.flushLogs();
    const charges = [...stripe.paymentIntents.values()].filter((p) => p.metadata.tollgate_org_id === orgId);
    expect(stripe.paymentIntents.size - pisBefore).toBe(1);
    expect(charges[0]).toMatchObject({
      amount: 2000,
      currency: "usd",
      customer: customerOf(orgId)!.id,
      payment_method: customerOf(orgId)!.invoice_settings.default_payment_method,
      status: "succeeded",
    });
    const afterTopup = await balance();
    expect(afterTopup > 20_000_000n && afterTopup < 23_000_000n).toBe(true);
    const topups = await rows<{ key: string; amount: string }>(
      t,
      sql`select idempotency_key as key, amount_micro_usd::text as amount from ledger_entries where org_id = ${orgId} and kind = 'topup'`,
    );
    expect(topups).toEqual([{ key: `stripe:auto_topup:${charges[0]!.id}`, amount: "20000000" }]);
    // Stripe's payment_intent.succeeded for the same charge: already credited.
    expect((await deliver(stripe.event("payment_intent.succeeded", charges[0]!))).status).toBe(200);
    expect(await balance()).toBe(afterTopup);
    // Above the threshold now: more usage does not charge again.
    expect((await chat()).status).toBe(200);
    await t.app.flushLogs();
    expect(stripe.paymentIntents.size - pisBefore).toBe(1);
    expect(await auditActions(t, orgId)).toContain("billing.auto_topup_charged");
  });

  it("auto top-up across replicas: concurrent flush notifications charge once per crossing; above the threshold it stops; the next crossing charges again", async () => {
    const replicas = Array.from({ length: 4 }, () =>
      createPaymentsService({
        db: t.db,
        stripe: createStripeClient({ secretKey: stripe.secretKey, apiUrl: stripe.url }),
        publicUrl: PUBLIC_URL,
        log: pino({ level: "silent" }),
        onCredited: () => {},
      }),
    );
    const mine = () => [...stripe.paymentIntents.values()].filter((p) => p.metadata.tollgate_org_id === orgId).length;
    // Charge attempts sent to Stripe: only the replica that wins the fire-once row asks at all.
    const attempts = () =>
      stripe.requests.filter((r) => r.path === "/v1/payment_intents" && r.body.metadata?.tollgate_org_id === orgId)
        .length;
    const start = mine();
    const tries = attempts();
    const b0 = await balance();
    // Raise the threshold above the balance: the next check is a crossing.
    expect(b0 < 50_000_000n).toBe(true);
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, {
          enabled: true,
          thresholdUsd: "50",
          amountUsd: "60",
        })
      ).status,
    ).toBe(200);
    await Promise.all([...replicas, ...replicas].map((r) => r.runAutoTopup([orgId])));
    expect(mine() - start).toBe(1);
    expect(attempts() - tries).toBe(1);
    const b1 = b0 + 60_000_000n;
    expect(await balance()).toBe(b1);
    // The credit re-armed it, but the balance is above the threshold now: nothing.
    await Promise.all(replicas.map((r) => r.runAutoTopup([orgId])));
    expect(mine() - start).toBe(1);
    // The balance falls below a (raised) threshold again: a new crossing, charged once.
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, {
          enabled: true,
          thresholdUsd: String((b1 + 1_000_000n) / 1_000_000n),
          amountUsd: "200",
        })
      ).status,
    ).toBe(200);
    await Promise.all([...replicas, ...replicas].map((r) => r.runAutoTopup([orgId])));
    expect(mine() - start).toBe(2);
    expect(attempts() - tries).toBe(2);
    expect(await balance()).toBe(b1 + 200_000_000n);
  });

  it("auto top-up safety cap: after 10 charges in 24 hours an organization is not charged again that day", async () => {
    const x = await team(t, "Capped Co");
    const replica = createPaymentsService({
      db: t.db,
      stripe: createStripeClient({ secretKey: stripe.secretKey, apiUrl: stripe.url }),
      publicUrl: PUBLIC_URL,
      log: pino({ level: "silent" }),
      onCredited: () => {},
    });
    // Adding a card creates the organization's Stripe customer.
    expect((await x.owner.post(`/api/v1/orgs/${x.slug}/billing/payment-methods/setup`)).status).toBeLessThan(300);
    const card = stripe.addCard(customerOf(x.org.id)!.id, { last4: "4242" });
    expect((await x.owner.post(`/api/v1/orgs/${x.slug}/billing/payment-methods/${card.id}/default`)).status).toBe(200);
    expect(
      (
        await x.owner.put(`/api/v1/orgs/${x.slug}/billing/auto-topup`, {
          enabled: true,
          thresholdUsd: "10",
          amountUsd: "20",
        })
      ).status,
    ).toBe(200);
    for (let i = 0; i < 10; i++) {
      await t.db.execute(
        sql`insert into billing_payments (id, org_id, kind, amount_micro_usd, status) values (${`pi_cap_${i}_${x.org.id}`}, ${x.org.id}, 'auto_topup', 20000000, 'paid')`,
      );
    }
    // The balance (0) is below the threshold, but the day's cap is used up.
    await grantCredits(t, x.slug, "1");
    const charges = () =>
      stripe.requests.filter((r) => r.path === "/v1/payment_intents" && r.body.metadata?.tollgate_org_id === x.org.id)
        .length;
    await replica.runAutoTopup([x.org.id]);
    expect(charges()).toBe(0);
    await t.db.execute(
      sql`update billing_payments set created_at = now() - interval '25 hours' where org_id = ${x.org.id}`,
    );
    await replica.runAutoTopup([x.org.id]);
    expect(charges()).toBe(1);
  });

  it("auto top-up with a declined card: audit row, no credit, disarmed until the next credit", async () => {
    const replica = createPaymentsService({
      db: t.db,
      stripe: createStripeClient({ secretKey: stripe.secretKey, apiUrl: stripe.url }),
      publicUrl: PUBLIC_URL,
      log: pino({ level: "silent" }),
      onCredited: () => {},
    });
    const bad = stripe.addCard(customerOf(orgId)!.id, { last4: "0002", decline: true });
    expect((await owner.post(`/api/v1/orgs/${slug}/billing/payment-methods/${bad.id}/default`)).status).toBe(200);
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, {
          enabled: true,
          thresholdUsd: "1000",
          amountUsd: "2000",
        })
      ).status,
    ).toBe(200);
    const attempts = () =>
      stripe.requests.filter(
        (r) =>
          r.path === "/v1/payment_intents" &&
          r.body.metadata?.tollgate_org_id === orgId &&
          r.body.payment_method === bad.id,
      ).length;
    const b0 = await balance();
    await replica.runAutoTopup([orgId]);
    expect(attempts()).toBe(1);
    expect(await balance()).toBe(b0);
    const [failed] = await rows<{ metadata: Record<string, unknown> }>(
      t,
      sql`select metadata from audit_log where org_id = ${orgId} and action = 'billing.auto_topup_failed' order by id desc limit 1`,
    );
    expect(failed!.metadata).toMatchObject({
      reason: "card declined (insufficient_funds)",
      amountMicroUsd: "2000000000",
    });
    expect(JSON.stringify(failed!.metadata)).not.toContain(stripe.secretKey);
    await Promise.all([replica.runAutoTopup([orgId]), replica.runAutoTopup([orgId])]);
    expect(attempts()).toBe(1);
    // A credit re-arms it (and the card is tried again).
    await grantCredits(t, slug, "1");
    await replica.runAutoTopup([orgId]);
    expect(attempts()).toBe(2);
    expect((await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, { enabled: false })).body.enabled).toBe(false);
    await grantCredits(t, slug, "1");
    await replica.runAutoTopup([orgId]);
    expect(attempts()).toBe(2);
  });

  it("OpenAPI documents every payments route with a tag and a summary", async () => {
    const doc = (await t.anon.get("/api/openapi.json")).body;
    const ops: Array<[string, string]> = [
      ["/api/v1/orgs/{org}/billing/checkout", "post"],
      ["/api/v1/orgs/{org}/billing/checkout", "get"],
      ["/api/v1/orgs/{org}/billing/payment-methods", "get"],
      ["/api/v1/orgs/{org}/billing/payment-methods/setup", "post"],
      ["/api/v1/orgs/{org}/billing/payment-methods/{id}", "delete"],
      ["/api/v1/orgs/{org}/billing/payment-methods/{id}/default", "post"],
      ["/api/v1/orgs/{org}/billing/auto-topup", "get"],
      ["/api/v1/orgs/{org}/billing/auto-topup", "put"],
      ["/api/v1/webhooks/stripe", "post"],
    ];
    for (const [path, method] of ops) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.tags.length).toBeGreaterThan(0);
      expect(op.summary).toBeTruthy();
    }
  });

  it("billing verify still passes (every balance equals its ledger)", async () => {
    const out: string[] = [];
    const code = await runBillingCommand(t.db, ["billing", "verify"], (l) => out.push(l), {
      billing: t.config.billing,
    });
    expect(code, out.join("\n")).toBe(0);
    expect(await count(t, "ledger_entries", sql`org_id = ${orgId} and kind = 'topup'`)).toBe(3);
  });
});

describe(`payments without Stripe (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the API says clearly that payments are off and how the operator grants credits", async () => {
    const { owner, admin, slug } = await team(t, "Offline Co");
    const co = await owner.post(`/api/v1/orgs/${slug}/billing/checkout`, { amountUsd: "10" });
    expect(co.status).toBe(409);
    expect(co.body.error.code).toBe("STRIPE_NOT_CONFIGURED");
    expect(co.body.error.message).toMatch(/tollgate credits grant --org <slug> --usd <amount> --note <text>/);
    expect((await admin.get(`/api/v1/orgs/${slug}/billing/checkout`)).body).toMatchObject({
      stripeConfigured: false,
      addCredits: expect.stringMatching(/tollgate credits grant/),
    });
    expect((await admin.get(`/api/v1/orgs/${slug}/billing/payment-methods`)).body).toEqual({
      stripeConfigured: false,
      paymentMethods: [],
    });
    expect((await owner.post(`/api/v1/orgs/${slug}/billing/payment-methods/setup`)).body.error.code).toBe(
      "STRIPE_NOT_CONFIGURED",
    );
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/billing/auto-topup`, {
          enabled: true,
          thresholdUsd: "5",
          amountUsd: "10",
        })
      ).body.error.code,
    ).toBe("STRIPE_NOT_CONFIGURED");
    expect((await admin.get(`/api/v1/orgs/${slug}/billing/auto-topup`)).body).toMatchObject({
      enabled: false,
      stripeConfigured: false,
    });
    const wh = await t.anon.post("/api/v1/webhooks/stripe", "{}", {
      "content-type": "application/json",
      origin: OMIT,
      "stripe-signature": "t=1,v1=00",
    });
    expect(wh.status).toBe(503);
    expect(wh.body.error.code).toBe("STRIPE_WEBHOOK_NOT_CONFIGURED");
    expect(await count(t, "stripe_events")).toBe(0);
  });
});
