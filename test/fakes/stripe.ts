/**
 * A small fake of the Stripe API on loopback, good enough for the real
 * `stripe` SDK (pointed at it with STRIPE_API_URL): customers (+ default
 * payment method, payment method list), Checkout Sessions, SetupIntents,
 * PaymentMethods (retrieve, detach), PaymentIntents (off-session confirm,
 * declines) and refund lists. Requests are form-encoded with bracket keys,
 * as the SDK sends them; Idempotency-Key replays the first response.
 *
 * Test-side helpers play the customer and Stripe's back office: save a card,
 * pay or not pay a session, refund, dispute — and build event payloads for
 * the webhook (signed by the test with the SDK's generateTestHeaderString).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

type Obj = Record<string, any>;

export interface FakeStripe {
  url: string;
  secretKey: string;
  requests: Array<{ method: string; path: string; body: Obj; idempotencyKey?: string }>;
  customers: Map<string, Obj>;
  sessions: Map<string, Obj>;
  paymentMethods: Map<string, Obj>;
  paymentIntents: Map<string, Obj>;
  charges: Map<string, Obj>;
  /** A card attached to `customer` (decline: off-session charges with it fail). */
  addCard(customer: string, card?: { brand?: string; last4?: string; decline?: boolean }): Obj;
  /** The customer finishes Checkout: paid now, or an async method still processing (payment_status unpaid). */
  completeSession(id: string, opts?: { paid?: boolean }): Obj;
  /** The async payment of a session clears. */
  settleSession(id: string): Obj;
  /** Setup-mode session finished with a new card. */
  completeSetup(id: string, card?: { brand?: string; last4?: string }): Obj;
  /** A refund of `cents` on the charge of a payment intent; returns the updated charge (refunds not embedded, like Stripe's webhooks). */
  refund(paymentIntent: string, cents: number): { charge: Obj; refund: Obj };
  dispute(paymentIntent: string, cents: number, status?: string): Obj;
  /** An event payload as Stripe would POST it. */
  event(type: string, object: Obj): string;
  close(): Promise<void>;
}

let seq = 0;
const id = (prefix: string) => `${prefix}_test${Date.now().toString(36)}${(++seq).toString(36).padStart(4, "0")}`;
const now = () => Math.floor(Date.now() / 1000);

/** `a[b][0][c]=1&x=2` → { a: { b: [ { c: "1" } ] }, x: "2" } */
export function decodeForm(body: string): Obj {
  const out: Obj = {};
  for (const pair of body.split("&")) {
    if (!pair) continue;
    const [rawKey, rawValue = ""] = pair.split("=");
    const key = decodeURIComponent(rawKey!.replace(/\+/g, " "));
    const value = decodeURIComponent(rawValue.replace(/\+/g, " "));
    const parts = key.split(/\[|\]\[|\]/).filter((p) => p !== "");
    let node: any = out;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]!);
      if (last) node[part] = value;
      else node = node[part] ??= nextIsIndex ? [] : {};
    });
  }
  return out;
}

export async function startFakeStripe(secretKey = "sk_test_fake_0123456789abcdefghij"): Promise<FakeStripe> {
  const requests: FakeStripe["requests"] = [];
  const customers = new Map<string, Obj>();
  const sessions = new Map<string, Obj>();
  const paymentMethods = new Map<string, Obj>();
  const paymentIntents = new Map<string, Obj>();
  const setupIntents = new Map<string, Obj>();
  const charges = new Map<string, Obj>();
  const refunds = new Map<string, Obj>();
  const idempotent = new Map<string, { status: number; body: unknown }>();

  const error = (status: number, type: string, message: string, extra: Obj = {}) => ({
    status,
    body: { error: { type, message, ...extra } },
  });
  const missing = (what: string, rid: string) =>
    error(404, "invalid_request_error", `No such ${what}: '${rid}'`, { code: "resource_missing", param: "id" });
  const list = (data: Obj[], url: string) => ({ object: "list", data, has_more: false, url });

  function newPm(customer: string | null, card: { brand?: string; last4?: string; decline?: boolean } = {}) {
    const pm = {
      id: id("pm"),
      object: "payment_method",
      type: "card",
      customer,
      created: now(),
      card: { brand: card.brand ?? "visa", last4: card.last4 ?? "4242", exp_month: 12, exp_year: 2030 },
      metadata: {},
      _decline: Boolean(card.decline),
    };
    paymentMethods.set(pm.id, pm);
    return pm;
  }
  const publicPm = (pm: Obj) => {
    const { _decline, ...rest } = pm;
    return rest;
  };

  function newPaymentIntent(p: Obj, status: string) {
    const pi: Obj = {
      id: id("pi"),
      object: "payment_intent",
      amount: Number(p.amount),
      amount_received: status === "succeeded" ? Number(p.amount) : 0,
      currency: p.currency ?? "usd",
      customer: p.customer ?? null,
      payment_method: p.payment_method ?? null,
      metadata: p.metadata ?? {},
      status,
      created: now(),
      latest_charge: null,
      last_payment_error: null,
    };
    if (status === "succeeded") {
      const ch = {
        id: id("ch"),
        object: "charge",
        amount: pi.amount,
        amount_refunded: 0,
        refunded: false,
        currency: pi.currency,
        payment_intent: pi.id,
        customer: pi.customer,
        metadata: {},
        created: now(),
        status: "succeeded",
      };
      charges.set(ch.id, ch);
      pi.latest_charge = ch.id;
    }
    paymentIntents.set(pi.id, pi);
    return pi;
  }

  function route(method: string, path: string, q: URLSearchParams, body: Obj): { status: number; body: unknown } {
    if (method === "POST" && path === "/v1/customers") {
      const c = {
        id: id("cus"),
        object: "customer",
        email: body.email ?? null,
        name: body.name ?? null,
        metadata: body.metadata ?? {},
        created: now(),
        invoice_settings: { default_payment_method: null },
      };
      customers.set(c.id, c);
      return { status: 200, body: c };
    }
    const cusPath = /^\/v1\/customers\/([^/]+)$/.exec(path);
    if (cusPath) {
      const c = customers.get(cusPath[1]!);
      if (!c) return missing("customer", cusPath[1]!);
      if (method === "POST" && body.invoice_settings && "default_payment_method" in body.invoice_settings) {
        const pm = body.invoice_settings.default_payment_method;
        if (pm && paymentMethods.get(pm)?.customer !== c.id)
          return error(400, "invalid_request_error", "The payment method is not attached to this customer.");
        c.invoice_settings.default_payment_method = pm || null;
      }
      return { status: 200, body: c };
    }
    const cusPms = /^\/v1\/customers\/([^/]+)\/payment_methods$/.exec(path);
    if (method === "GET" && cusPms) {
      if (!customers.has(cusPms[1]!)) return missing("customer", cusPms[1]!);
      return {
        status: 200,
        body: list([...paymentMethods.values()].filter((pm) => pm.customer === cusPms[1]).map(publicPm), path),
      };
    }
    if (method === "POST" && path === "/v1/checkout/sessions") {
      const items: Obj[] = body.line_items ?? [];
      const total = items.reduce((s, li) => s + Number(li.price_data?.unit_amount ?? 0) * Number(li.quantity ?? 1), 0);
      const s = {
        id: id("cs"),
        object: "checkout.session",
        mode: body.mode,
        customer: body.customer ?? null,
        client_reference_id: body.client_reference_id ?? null,
        amount_total: body.mode === "payment" ? total : null,
        currency: body.mode === "payment" ? (items[0]?.price_data?.currency ?? "usd") : (body.currency ?? null),
        metadata: body.metadata ?? {},
        payment_status: body.mode === "setup" ? "no_payment_required" : "unpaid",
        status: "open",
        payment_intent: null,
        setup_intent: null,
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        url: "",
        created: now(),
        _pi_metadata: body.payment_intent_data?.metadata ?? {},
      };
      s.url = `https://checkout.stripe.test/c/pay/${s.id}`;
      sessions.set(s.id, s);
      return { status: 200, body: s };
    }
    const pmPath = /^\/v1\/payment_methods\/([^/]+)(\/detach)?$/.exec(path);
    if (pmPath) {
      const pm = paymentMethods.get(pmPath[1]!);
      if (!pm) return missing("payment_method", pmPath[1]!);
      if (method === "POST" && pmPath[2]) {
        for (const c of customers.values())
          if (c.invoice_settings.default_payment_method === pm.id) c.invoice_settings.default_payment_method = null;
        pm.customer = null;
      }
      return { status: 200, body: publicPm(pm) };
    }
    const siPath = /^\/v1\/setup_intents\/([^/]+)$/.exec(path);
    if (method === "GET" && siPath) {
      const si = setupIntents.get(siPath[1]!);
      return si ? { status: 200, body: si } : missing("setup_intent", siPath[1]!);
    }
    if (method === "POST" && path === "/v1/payment_intents") {
      const pm = paymentMethods.get(body.payment_method);
      if (!pm || pm.customer !== body.customer)
        return error(400, "invalid_request_error", "No such PaymentMethod for this customer.", {
          code: "resource_missing",
        });
      if (pm._decline) {
        const pi = newPaymentIntent(body, "requires_payment_method");
        pi.last_payment_error = { code: "card_declined", decline_code: "insufficient_funds" };
        return error(402, "card_error", "Your card has insufficient funds.", {
          code: "card_declined",
          decline_code: "insufficient_funds",
          payment_intent: pi,
        });
      }
      return { status: 200, body: newPaymentIntent(body, "succeeded") };
    }
    if (method === "GET" && path === "/v1/refunds") {
      const charge = q.get("charge");
      return {
        status: 200,
        body: list(
          [...refunds.values()].filter((r) => !charge || r.charge === charge),
          path,
        ),
      };
    }
    return error(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}).`);
  }

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://fake");
    const text = Buffer.concat(chunks).toString("utf8");
    const body = decodeForm(url.search && req.method === "GET" ? url.search.slice(1) : text);
    const key = req.headers["idempotency-key"] as string | undefined;
    requests.push({ method: req.method ?? "", path: url.pathname, body, idempotencyKey: key });
    let out: { status: number; body: unknown };
    if (req.headers.authorization !== `Bearer ${secretKey}`)
      out = error(401, "invalid_request_error", "Invalid API Key provided.");
    else if (key && req.method === "POST" && idempotent.has(`${url.pathname} ${key}`))
      out = idempotent.get(`${url.pathname} ${key}`)!;
    else {
      out = route(req.method ?? "GET", url.pathname, url.searchParams, body);
      if (key && req.method === "POST") idempotent.set(`${url.pathname} ${key}`, out);
    }
    const json = JSON.stringify(out.body, (k, v) => (k.startsWith("_") ? undefined : v));
    res.writeHead(out.status, { "content-type": "application/json", "request-id": id("req") });
    res.end(json);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const session = (sid: string) => {
    const s = sessions.get(sid);
    if (!s) throw new Error(`fake stripe: no session ${sid}`);
    return s;
  };
  const strip = (o: Obj) => JSON.parse(JSON.stringify(o, (k, v) => (k.startsWith("_") ? undefined : v)));

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    requests,
    customers,
    sessions,
    paymentMethods,
    paymentIntents,
    charges,
    addCard: (customer, card) => strip(newPm(customer, card)),
    completeSession(sid, opts = {}) {
      const s = session(sid);
      const paid = opts.paid ?? true;
      const pi = newPaymentIntent(
        { amount: s.amount_total, currency: s.currency, customer: s.customer, metadata: s._pi_metadata },
        paid ? "succeeded" : "processing",
      );
      Object.assign(s, { status: "complete", payment_status: paid ? "paid" : "unpaid", payment_intent: pi.id });
      return strip(s);
    },
    settleSession(sid) {
      const s = session(sid);
      const pi = paymentIntents.get(s.payment_intent)!;
      if (pi.status !== "succeeded") {
        const fresh = newPaymentIntent(
          { amount: pi.amount, currency: pi.currency, customer: pi.customer, metadata: pi.metadata },
          "succeeded",
        );
        paymentIntents.delete(fresh.id);
        Object.assign(pi, { status: "succeeded", amount_received: pi.amount, latest_charge: fresh.latest_charge });
        charges.get(fresh.latest_charge)!.payment_intent = pi.id;
      }
      s.payment_status = "paid";
      return strip(s);
    },
    completeSetup(sid, card) {
      const s = session(sid);
      const pm = newPm(s.customer, card);
      const si = {
        id: id("seti"),
        object: "setup_intent",
        customer: s.customer,
        payment_method: pm.id,
        status: "succeeded",
        metadata: s.metadata,
      };
      setupIntents.set(si.id, si);
      Object.assign(s, { status: "complete", setup_intent: si.id });
      return strip(s);
    },
    refund(piId, cents) {
      const pi = paymentIntents.get(piId)!;
      const ch = charges.get(pi.latest_charge)!;
      const r = {
        id: id("re"),
        object: "refund",
        amount: cents,
        charge: ch.id,
        payment_intent: pi.id,
        currency: ch.currency,
        status: "succeeded",
        created: now() + refunds.size,
      };
      refunds.set(r.id, r);
      ch.amount_refunded += cents;
      ch.refunded = ch.amount_refunded >= ch.amount;
      return { charge: strip(ch), refund: r };
    },
    dispute(piId, cents, status = "needs_response") {
      const pi = paymentIntents.get(piId)!;
      return {
        id: id("dp"),
        object: "dispute",
        amount: cents,
        currency: "usd",
        charge: pi.latest_charge,
        payment_intent: pi.id,
        reason: "fraudulent",
        status,
        created: now(),
      };
    },
    event(type, object) {
      return JSON.stringify({
        id: id("evt"),
        object: "event",
        api_version: "2025-01-01",
        created: now(),
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
        data: { object },
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
