/**
 * Stripe webhooks end to end: the real `stripe` SDK talks to a loopback fake
 * of the Stripe API (STRIPE_API_URL), payloads are signed with the SDK's
 * generateTestHeaderString, and every case is judged by what the org sees
 * (balance, transactions) and what the database holds (ledger, events).
 */
import { sql } from "drizzle-orm";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBillingCommand } from "../src/modules/billing/billing.cli.js";
import { type Client, OMIT, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, count, grantCredits, rows, team } from "./helpers/fixtures.js";
import { type FakeStripe, startFakeStripe } from "./fakes/stripe.js";

const WHSEC = "whsec_test_0123456789abcdefghijklmnopqrstuv";

describe(`Stripe webhooks (${storageKind})`, () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let owner: Client;
  let slug: string;
  let orgId: string;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    t = await startTestApp({
      env: {
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: WHSEC,
        STRIPE_API_URL: stripe.url,
        // The mock model costs $0.10 per input token here, so a request spends real credits.
        TOLLGATE_PRICE_OVERRIDES: '{"mock/echo": {"input": "100000", "output": "0"}}',
      },
    });
    const x = await team(t, "Webhook Co");
    ({ owner, slug } = x);
    orgId = x.org.id;
  });
  afterAll(async () => {
    await t?.close();
    await stripe?.close();
  });

  function sign(payload: string, opts: { secret?: string; timestamp?: number } = {}) {
    return Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: opts.secret ?? WHSEC,
      timestamp: opts.timestamp,
    });
  }
  function deliver(payload: string, header: string | null = sign(payload), client: Client = t.anon) {
    const headers: Record<string, string> = { "content-type": "application/json", origin: OMIT };
    if (header !== null) headers["stripe-signature"] = header;
    return client.post("/api/v1/webhooks/stripe", payload, headers);
  }
  const balance = async () => (await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceMicroUsd as string;
  const ledgerRows = () =>
    rows<{ kind: string; amount: string; key: string }>(
      t,
      sql`select kind, amount_micro_usd::text as amount, idempotency_key as key from ledger_entries where org_id = ${orgId} order by id`,
    );
  async function checkout(usd: string) {
    const res = await owner.post(`/api/v1/orgs/${slug}/billing/checkout`, { amountUsd: usd });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  it("checkout paid → balance up by exactly the amount; the same event again → 200, nothing more", async () => {
    const before = BigInt(await balance());
    const id = await checkout("25");
    const evt = stripe.event("checkout.session.completed", stripe.completeSession(id));
    const first = await deliver(evt);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ received: true, duplicate: false });
    expect(BigInt(await balance()) - before).toBe(25_000_000n);
    const again = await deliver(evt);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, duplicate: true });
    expect(BigInt(await balance()) - before).toBe(25_000_000n);
    const tx = (await owner.get(`/api/v1/orgs/${slug}/billing/transactions?kind=topup`)).body.transactions;
    expect(tx[0]).toMatchObject({
      kind: "topup",
      amountUsd: "25.000000",
      note: "Stripe top-up",
      actor: { email: "stripe" },
    });
    const [p] = await rows<{ status: string; payment_intent_id: string }>(
      t,
      sql`select status, payment_intent_id from billing_payments where id = ${id}`,
    );
    expect(p).toMatchObject({ status: "paid", payment_intent_id: stripe.sessions.get(id)!.payment_intent });
  });

  it("the same event delivered concurrently, plus a second 'paid' event for the session → one credit", async () => {
    const before = BigInt(await balance());
    const id = await checkout("10");
    const session = stripe.completeSession(id);
    const evt = stripe.event("checkout.session.completed", session);
    const other = stripe.event("checkout.session.async_payment_succeeded", session);
    const results = await Promise.all([
      ...Array.from({ length: 6 }, () => deliver(evt)),
      deliver(other),
      deliver(other),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(results.slice(0, 6).filter((r) => r.body.duplicate === false)).toHaveLength(1);
    expect(BigInt(await balance()) - before).toBe(10_000_000n);
    expect(await count(t, "ledger_entries", sql`idempotency_key = ${`stripe:checkout:${id}`}`)).toBe(1);
  });

  it("bad signatures → 400 STRIPE_SIGNATURE_INVALID and nothing written: tampered body, wrong secret, no header, too old, from the future", async () => {
    const id = await checkout("50");
    const evt = stripe.event("checkout.session.completed", stripe.completeSession(id));
    const events = await count(t, "stripe_events");
    const before = await balance();
    const tampered = evt.replace('"amount_total":5000', '"amount_total":500000');
    expect(tampered).not.toBe(evt);
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      await deliver(tampered, sign(evt)),
      await deliver(evt, sign(evt, { secret: "whsec_wrong_secret_0123456789abcdef" })),
      await deliver(evt, null),
      await deliver(evt, "t=123,v1=deadbeef"),
      await deliver(evt, sign(evt, { timestamp: now - 301 })),
      await deliver(evt, sign(evt, { timestamp: now + 400 })),
      // Re-serialised JSON (same data, different bytes) is not what was signed.
      await deliver(JSON.stringify(JSON.parse(evt), null, 2), sign(evt)),
    ];
    for (const r of cases) {
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("STRIPE_SIGNATURE_INVALID");
    }
    expect(await count(t, "stripe_events")).toBe(events);
    expect(await balance()).toBe(before);
    // Within the tolerance it is accepted.
    expect((await deliver(evt, sign(evt, { timestamp: now - 200 }))).status).toBe(200);
    expect(BigInt(await balance()) - BigInt(before)).toBe(50_000_000n);
  });

  it("an async payment: completed but unpaid credits nothing until async_payment_succeeded; a failed one never credits", async () => {
    const before = BigInt(await balance());
    const id = await checkout("12.50");
    const pending = stripe.completeSession(id, { paid: false });
    expect(pending.payment_status).toBe("unpaid");
    expect((await deliver(stripe.event("checkout.session.completed", pending))).status).toBe(200);
    expect(BigInt(await balance())).toBe(before);
    const paid = stripe.settleSession(id);
    expect((await deliver(stripe.event("checkout.session.async_payment_succeeded", paid))).status).toBe(200);
    expect(BigInt(await balance()) - before).toBe(12_500_000n);

    const failedId = await checkout("30");
    const s = stripe.completeSession(failedId, { paid: false });
    await deliver(stripe.event("checkout.session.completed", s));
    await deliver(stripe.event("checkout.session.async_payment_failed", s));
    expect(BigInt(await balance()) - before).toBe(12_500_000n);
    const [p] = await rows<{ status: string }>(t, sql`select status from billing_payments where id = ${failedId}`);
    expect(p!.status).toBe("failed");
    expect(await auditActions(t, orgId)).toContain("billing.payment_failed");
  });

  it("an expired session is marked expired and credits nothing", async () => {
    const before = await balance();
    const id = await checkout("15");
    const { _pi_metadata, ...session } = stripe.sessions.get(id)!;
    const s = { ...session, status: "expired" };
    expect((await deliver(stripe.event("checkout.session.expired", s))).status).toBe(200);
    expect(await balance()).toBe(before);
    const [p] = await rows<{ status: string }>(t, sql`select status from billing_payments where id = ${id}`);
    expect(p!.status).toBe("expired");
  });

  it("partial refunds (3 then 2 of 10) reverse exactly those amounts; redeliveries and a later event repeating old refunds reverse nothing more", async () => {
    const id = await checkout("10");
    await deliver(stripe.event("checkout.session.completed", stripe.completeSession(id)));
    const pi = stripe.sessions.get(id)!.payment_intent as string;
    const base = BigInt(await balance());

    const first = stripe.refund(pi, 300);
    const evt1 = stripe.event("charge.refunded", first.charge);
    expect((await deliver(evt1)).status).toBe(200);
    expect(BigInt(await balance())).toBe(base - 3_000_000n);
    await Promise.all([deliver(evt1), deliver(evt1)]);
    expect(BigInt(await balance())).toBe(base - 3_000_000n);

    const second = stripe.refund(pi, 200);
    const evt2 = stripe.event("charge.refunded", second.charge);
    expect((await deliver(evt2)).status).toBe(200);
    expect(BigInt(await balance())).toBe(base - 5_000_000n);
    // A new event id carrying the same refunds (Stripe can send charge.refunded again): keyed by refund id, no double reversal.
    expect((await deliver(stripe.event("charge.refunded", second.charge))).status).toBe(200);
    expect((await deliver(evt1)).body.duplicate).toBe(true);
    expect(BigInt(await balance())).toBe(base - 5_000_000n);

    const refundsRows = (await ledgerRows()).filter((r) => r.kind === "refund");
    expect(refundsRows.map((r) => [r.amount, r.key])).toEqual([
      ["-3000000", `stripe:refund:${first.refund.id}`],
      ["-2000000", `stripe:refund:${second.refund.id}`],
    ]);
    const [p] = await rows<{ status: string; refunded: string }>(
      t,
      sql`select status, refunded_micro_usd::text as refunded from billing_payments where id = ${id}`,
    );
    expect(p).toEqual({ status: "refunded", refunded: "5000000" });
  });

  it("a dispute reverses the disputed amount; closed as won restores it once", async () => {
    const id = await checkout("25");
    await deliver(stripe.event("checkout.session.completed", stripe.completeSession(id)));
    const pi = stripe.sessions.get(id)!.payment_intent as string;
    const base = BigInt(await balance());
    const d = stripe.dispute(pi, 2500);
    const created = stripe.event("charge.dispute.created", d);
    expect((await deliver(created)).status).toBe(200);
    await deliver(created);
    expect(BigInt(await balance())).toBe(base - 25_000_000n);
    const won = { ...d, status: "won" };
    expect((await deliver(stripe.event("charge.dispute.closed", won))).status).toBe(200);
    expect((await deliver(stripe.event("charge.dispute.closed", won))).status).toBe(200);
    expect(BigInt(await balance())).toBe(base);
    const tx = (await owner.get(`/api/v1/orgs/${slug}/billing/transactions?kind=adjustment`)).body.transactions;
    expect(tx.map((x: { amountUsd: string }) => x.amountUsd)).toEqual(["25.000000", "-25.000000"]);

    // A lost dispute keeps the reversal.
    const d2 = stripe.dispute(pi, 1000);
    await deliver(stripe.event("charge.dispute.created", d2));
    await deliver(stripe.event("charge.dispute.closed", { ...d2, status: "lost" }));
    expect(BigInt(await balance())).toBe(base - 10_000_000n);
  });

  it("a refund after the credits were spent takes the balance below zero; the gateway then refuses paid requests with 402", async () => {
    const { owner: o2, slug: s2 } = await team(t, "Spender Co");
    const res = await o2.post(`/api/v1/orgs/${s2}/billing/checkout`, { amountUsd: "10" });
    const id = res.body.id as string;
    await deliver(stripe.event("checkout.session.completed", stripe.completeSession(id)));
    expect((await o2.post(`/api/v1/orgs/${s2}/projects`, { name: "App", slug: "spend-app" })).status).toBe(201);
    const key = (await o2.post(`/api/v1/orgs/${s2}/projects/spend-app/keys`, { name: "k", environment: "live" })).body
      .key as string;
    const chat = () =>
      t.anon.post(
        "/v1/chat/completions",
        { model: "mock/echo", max_tokens: 5, messages: [{ role: "user", content: "spend some credits" }] },
        { authorization: `Bearer ${key}` },
      );
    expect((await chat()).status).toBe(200);
    await t.app.flushLogs();
    const spent = 10_000_000n - BigInt((await o2.get(`/api/v1/orgs/${s2}/billing`)).body.balanceMicroUsd);
    expect(spent > 0n).toBe(true);
    // The whole payment is refunded after part of it was used.
    const pi = stripe.sessions.get(id)!.payment_intent as string;
    await deliver(stripe.event("charge.refunded", stripe.refund(pi, 1000).charge));
    const b = await o2.get(`/api/v1/orgs/${s2}/billing`);
    expect(b.body.balanceMicroUsd).toBe((-spent).toString());
    const refused = await chat();
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe("insufficient_credits");
  });

  it("unknown events and events about payments of another system: 200, ignored, recorded once", async () => {
    const before = await balance();
    const unknown = stripe.event("customer.subscription.created", { id: "sub_123", object: "subscription" });
    expect((await deliver(unknown)).body).toEqual({ received: true, duplicate: false });
    const foreign = stripe.event("checkout.session.completed", {
      id: "cs_not_ours",
      object: "checkout.session",
      mode: "payment",
      payment_status: "paid",
      amount_total: 100000,
      currency: "usd",
      metadata: { tollgate_org_id: orgId },
      payment_intent: "pi_x",
    });
    expect((await deliver(foreign)).status).toBe(200);
    expect(await balance()).toBe(before);
  });

  it("a signed-in browser's cookie neither helps nor hurts: no session or CSRF check on the webhook", async () => {
    const id = await checkout("5");
    const before = BigInt(await balance());
    const r = await deliver(stripe.event("checkout.session.completed", stripe.completeSession(id)), undefined, owner);
    expect(r.status).toBe(200);
    expect(BigInt(await balance()) - before).toBe(5_000_000n);
    expect((await deliver("{}", "t=1,v1=00", owner)).status).toBe(400);
  });

  it("billing verify: every balance still equals its ledger; the refund spent below zero is flagged NEGATIVE (exit 1)", async () => {
    await grantCredits(t, slug, "1");
    const out: string[] = [];
    const code = await runBillingCommand(t.db, ["billing", "verify"], (l) => out.push(l), {
      billing: t.config.billing,
    });
    expect(code, out.join("\n")).toBe(1);
    expect(out.join("\n")).toMatch(new RegExp(`ok\\s+${slug}`));
    expect(out.join("\n")).toMatch(/All \d+ balances equal their ledgers\./);
    expect(out.join("\n")).toMatch(/NEGATIVE spender-co {2}balance -\$0\.\d{6}/);
  });
});
