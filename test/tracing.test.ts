/**
 * OpenTelemetry tracing end to end: the app configured by the standard OTEL_*
 * variables (http/json) exports through the official SDK to an OTLP/HTTP
 * receiver on loopback. A gateway call is one server span named by the GenAI
 * conventions (`chat <model>`) with their attributes and Tollgate's (org,
 * project, key, cost, cache, policy verdict); each upstream attempt is a
 * client child span; the policy scan an internal child span; an incoming
 * W3C traceparent is continued, and the upstream request carries the
 * attempt's; management API requests get spans too; no prompt text is in
 * any span. Without the variables, tracing is off and nothing is exported.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tracingConfig } from "../src/config-otel.js";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, team } from "./helpers/fixtures.js";

const KEY = "sk-traced-vendor-0123456789";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

/** An OTLP/HTTP receiver (JSON protocol): every span of every POST /v1/traces, with the service name. */
async function startReceiver() {
  const spans: Array<OtlpSpan & { service: string }> = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url === "/v1/traces" && req.headers["content-type"]?.includes("application/json")) {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a: { key: string }) => a.key === "service.name")?.value
          ?.stringValue;
        for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, service });
      }
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v
    ? (v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue)))
    : undefined;
};

describe(`tracing with OpenTelemetry (${storageKind})`, () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let vendor: OpenAIFake;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;

  async function spansOf(traceId: string, count: number) {
    for (let i = 0; i < 100; i++) {
      await t.app.flushTraces();
      const found = receiver.spans.filter((s) => s.traceId === traceId);
      if (found.length >= count) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    return receiver.spans.filter((s) => s.traceId === traceId);
  }

  beforeAll(async () => {
    [receiver, vendor] = await Promise.all([startReceiver(), startOpenAIFake({ apiKey: KEY })]);
    t = await startTestApp({
      env: {
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "tollgate-under-test",
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Traced Co"));
    await grantCredits(t, slug, "10");
    const p = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Vendor",
      slug: "vendor",
      format: "openai",
      baseUrl: `${vendor.url}/v1`,
      apiKey: KEY,
      models: [{ id: "m", inputPricePerMillion: "2", outputPricePerMillion: "8" }],
    });
    expect(p.status).toBe(201);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "main-app", slug: "main-app" })).status).toBe(
      201,
    );
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "k", environment: "live" })).body
      .key;
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await Promise.all([receiver.close(), vendor.close()]);
  });

  it("a gateway call is a GenAI server span continuing the client's traceparent, with attempt and scan children", async () => {
    const openai = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    const secret = "my very private prompt text";
    const { response } = await openai.chat.completions
      .create(
        { model: "vendor/m", messages: [{ role: "user", content: secret }] },
        { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } },
      )
      .withResponse();
    expect(response.status).toBe(200);

    const spans = await spansOf(TRACE_ID, 3);
    const server = spans.find((s) => s.kind === 2)!;
    expect(server).toBeDefined();
    expect(server.service).toBe("tollgate-under-test");
    expect(server.name).toBe("chat vendor/m");
    expect(server.parentSpanId).toBe(PARENT_ID);
    expect(attr(server, "gen_ai.operation.name")).toBe("chat");
    expect(attr(server, "gen_ai.request.model")).toBe("vendor/m");
    expect(attr(server, "gen_ai.response.model")).toBe("vendor/m");
    expect(attr(server, "gen_ai.provider.name")).toBe("vendor");
    expect(attr(server, "gen_ai.usage.input_tokens")).toBeGreaterThan(0);
    expect(attr(server, "gen_ai.usage.output_tokens")).toBeGreaterThan(0);
    expect(attr(server, "tollgate.org.id")).toBeTypeOf("string");
    expect(attr(server, "tollgate.project.id")).toBeTypeOf("string");
    expect(attr(server, "tollgate.key.id")).toBeTypeOf("string");
    expect(attr(server, "tollgate.cost_micro_usd")).toBeGreaterThan(0);
    expect(attr(server, "http.response.status_code")).toBe(200);

    const attempt = spans.find((s) => s.kind === 3)!;
    expect(attempt.name).toBe("chat m");
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attr(attempt, "tollgate.target")).toBe("vendor/m");
    const scan = spans.find((s) => s.name === "tollgate.policy.scan")!;
    expect(scan.parentSpanId).toBe(server.spanId);

    // The upstream request carries the attempt span's context.
    expect(vendor.last().headers.traceparent).toBe(`00-${TRACE_ID}-${attempt.spanId}-01`);
    // No prompt text in any span.
    expect(JSON.stringify(receiver.spans)).not.toContain(secret);
  });

  it("a failed attempt is an error span, and the fallback's attempt follows it", async () => {
    vendor.setFault({ type: "status", status: 503 }, 1);
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        traceparent: `00-${traceId}-b7ad6b7169203331-01`,
      },
      body: JSON.stringify({ model: "vendor/m", messages: [{ role: "user", content: "retry me" }] }),
    });
    expect(res.status).toBe(200);
    const attempts = (await spansOf(traceId, 4)).filter((s) => s.kind === 3);
    expect(attempts.length).toBe(2);
    expect(attempts.some((s) => attr(s, "error.type") === "503")).toBe(true);
  });

  it("management API requests are spans too", async () => {
    const traceId = "1af7651916cd43dd8448eb211c80319d";
    const res = await owner.get(`/api/v1/orgs/${slug}/projects`, { traceparent: `00-${traceId}-c7ad6b7169203331-01` });
    expect(res.status).toBe(200);
    const spans = await spansOf(traceId, 1);
    const span = spans.find((s) => s.kind === 2)!;
    expect(span).toMatchObject({ name: "GET /api/v1/orgs/:org/projects", parentSpanId: "c7ad6b7169203331" });
    expect(attr(span, "http.response.status_code")).toBe(200);
    // What runs inside it (the auth library's own spans among them) is its child.
    for (const s of spans.filter((x) => x !== span)) expect(s.parentSpanId).toBeDefined();
  });

  it("is off without an endpoint, and a wrong variable is named", () => {
    expect(tracingConfig({})).toBeNull();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" })).toBeNull();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toMatchObject({
      url: "http://c:4318/v1/traces",
      protocol: "http/protobuf",
      serviceName: "tollgate",
      sampler: { kind: "always_on", parentBased: true },
    });
    expect(
      tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
    ).toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(
      tracingConfig({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://api.honeycomb.io/v1/traces",
        OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=abc%20def",
        OTEL_TRACES_SAMPLER: "traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
      }),
    ).toMatchObject({
      url: "https://api.honeycomb.io/v1/traces",
      headers: { "x-honeycomb-team": "abc def" },
      sampler: { kind: "traceidratio", parentBased: false, ratio: 0.25 },
    });
  });
});
