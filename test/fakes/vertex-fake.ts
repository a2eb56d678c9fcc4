/**
 * Local fakes of Google Vertex AI as Tollgate calls it.
 * - `startGoogleTokenFake`: Google's OAuth 2.0 token endpoint (POST /token,
 *   form-encoded `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and
 *   `assertion`): the assertion must be an RS256 JWT signed by a service
 *   account it knows (checked with the account's public key, via jose), for
 *   the audience of its own URL, issued by the account's client_email, asking
 *   for the cloud-platform scope, valid an hour at most; refusals are Google's
 *   400 `invalid_grant`. It issues random access tokens that live the
 *   account's `lifetime` seconds (3600 unless changed), and records them.
 * - `startVertexFake`: POST /v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}
 *   with `Authorization: Bearer <an issued token>` (401 UNAUTHENTICATED
 *   otherwise), for its one project (403 PERMISSION_DENIED for another) and
 *   location (404 otherwise). Google's models (`gemini-…`, embedding models)
 *   answer generateContent, streamGenerateContent?alt=sse and :predict
 *   (embeddings with statistics.token_count); Anthropic's (`claude-…`) answer
 *   rawPredict and streamRawPredict, whose body must carry
 *   `anthropic_version: "vertex-2023-10-16"` and no `model`. A model under the
 *   wrong publisher is NOT_FOUND. Answers come from the Gemini and Anthropic
 *   fakes (script.ts's deterministic model), which Vertex fronts here as it
 *   fronts the publishers' models; every reported usage is kept in `reported`.
 * Errors are Google API errors `{error:{code,message,status}}` (Anthropic's own
 * request errors keep Anthropic's shape, as Vertex passes them on).
 */
import { randomBytes } from "node:crypto";
import { type CryptoKey, jwtVerify } from "jose";
import { startAnthropicFake } from "./anthropic-fake.js";
import { startFake, type FakeServer } from "./base.js";
import { geminiError, startGeminiFake } from "./gemini-fake.js";

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

export type TokenFake = FakeServer & {
  tokenUrl: string;
  /** Trusts a service account: its public key, and its tokens' lifetime in seconds (3600). */
  addAccount(clientEmail: string, publicKey: CryptoKey, lifetime?: number): void;
  setLifetime(clientEmail: string, seconds: number): void;
  /** Every access token issued, in order, with its account. */
  issued: Array<{ token: string; clientEmail: string; expiresIn: number }>;
  valid(token: string): boolean;
};

const invalidGrant = (description: string) => ({ error: "invalid_grant", error_description: description });

export async function startGoogleTokenFake(): Promise<TokenFake> {
  const accounts = new Map<string, { publicKey: CryptoKey; lifetime: number }>();
  const issued: TokenFake["issued"] = [];
  let tokenUrl = "";
  const server = await startFake(
    async (ctx) => {
      if (ctx.req.method !== "POST" || ctx.path !== "/token") return ctx.json(404, { error: "not_found" });
      if (!String(ctx.req.headers["content-type"]).startsWith("application/x-www-form-urlencoded"))
        return ctx.json(400, { error: "invalid_request", error_description: "Bad Request" });
      const form = new URLSearchParams(ctx.raw.toString("utf8"));
      if (form.get("grant_type") !== GRANT)
        return ctx.json(400, { error: "unsupported_grant_type", error_description: "Invalid grant_type: " });
      const assertion = form.get("assertion") ?? "";
      const claims = JSON.parse(Buffer.from(assertion.split(".")[1] ?? "", "base64url").toString() || "{}");
      const account = accounts.get(String(claims.iss));
      if (!account) return ctx.json(400, invalidGrant("Invalid grant: account not found"));
      try {
        const { payload } = await jwtVerify(assertion, account.publicKey, {
          algorithms: ["RS256"],
          issuer: String(claims.iss),
          audience: tokenUrl,
          maxTokenAge: "3601s",
        });
        if (payload.scope !== SCOPE) return ctx.json(400, { error: "invalid_scope", error_description: "scope" });
        if (typeof payload.exp !== "number" || payload.exp - (payload.iat ?? 0) > 3600)
          return ctx.json(400, invalidGrant("Invalid JWT: Token must be a short-lived token (60 minutes)"));
      } catch {
        return ctx.json(400, invalidGrant("Invalid JWT Signature."));
      }
      const token = `ya29.fake-${randomBytes(12).toString("base64url")}`;
      issued.push({ token, clientEmail: String(claims.iss), expiresIn: account.lifetime });
      ctx.json(200, { access_token: token, expires_in: account.lifetime, token_type: "Bearer" });
    },
    (_status, message) => ({ error: "internal_failure", error_description: message }),
  );
  tokenUrl = `${server.url}/token`;
  return Object.assign(server, {
    tokenUrl,
    issued,
    addAccount(clientEmail: string, publicKey: CryptoKey, lifetime = 3600) {
      accounts.set(clientEmail, { publicKey, lifetime });
    },
    setLifetime(clientEmail: string, seconds: number) {
      accounts.get(clientEmail)!.lifetime = seconds;
    },
    valid: (token: string) => issued.some((i) => i.token === token),
  });
}

export type VertexFake = FakeServer & {
  /** Usage objects reported (Gemini's usageMetadata, Anthropic's usage merged across a stream), in order. */
  reported: Array<Record<string, any>>;
  /** The next `times` requests answer 429 RESOURCE_EXHAUSTED, as Vertex's quota does. */
  rateLimit(times: number): void;
};

const PATH =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/([^/]+)\/models\/([^/:]+):(generateContent|streamGenerateContent|predict|rawPredict|streamRawPredict)$/;

export async function startVertexFake(o: {
  project: string;
  location: string;
  tokens: TokenFake;
}): Promise<VertexFake> {
  const [gemini, anthropic] = await Promise.all([startGeminiFake(), startAnthropicFake()]);
  const reported: Array<Record<string, any>> = [];
  const server = await startFake(async (ctx) => {
    const { req, body } = ctx;
    const m = PATH.exec(ctx.path);
    if (req.method !== "POST" || !m)
      return ctx.json(404, geminiError(404, `The requested URL ${ctx.path} was not found.`));
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""))?.[1];
    if (!bearer || !o.tokens.valid(bearer))
      return ctx.json(
        401,
        geminiError(
          401,
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        ),
      );
    const [, project, location, publisher, rawModel, method] = m as unknown as string[];
    const model = decodeURIComponent(rawModel!);
    const resource = `projects/${project}/locations/${location}/publishers/${publisher}/models/${model}`;
    if (project !== o.project)
      return ctx.json(
        403,
        geminiError(
          403,
          `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/${resource}' (or it may not exist).`,
        ),
      );
    const known =
      publisher === "anthropic" ? /^claude-/.test(model) : publisher === "google" && !/^claude-/.test(model);
    if (location !== o.location || !known)
      return ctx.json(
        404,
        geminiError(404, `Publisher Model \`${resource}\` was not found or your project does not have access to it.`),
      );
    const anthropicMethod = method === "rawPredict" || method === "streamRawPredict";
    if ((publisher === "anthropic") !== anthropicMethod)
      return ctx.json(400, geminiError(400, `Method ${method} is not supported for ${resource}.`));
    if (method === "predict") {
      if (!/embedding/.test(model)) return ctx.json(400, geminiError(400, "This model does not support embeddings."));
      const instances: any[] = body?.instances ?? [];
      const dims = body?.parameters?.outputDimensionality ?? 8;
      const predictions = instances.map((i) => {
        const text = String(i?.content ?? "");
        return {
          embeddings: {
            values: Array.from({ length: dims }, (_, d) => ((text.length + d) % 10) / 10),
            statistics: { token_count: 2 + Math.ceil(text.length / 3), truncated: false },
          },
        };
      });
      reported.push({ token_count: predictions.reduce((s, p) => s + p.embeddings.statistics.token_count, 0) });
      return ctx.json(200, { predictions, metadata: { billableCharacterCount: 0 } });
    }

    let url: string;
    let forwarded: any = body;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (anthropicMethod) {
      if (body?.anthropic_version !== "vertex-2023-10-16")
        return ctx.json(400, geminiError(400, "anthropic_version: vertex-2023-10-16 is required in the request body."));
      if ("model" in (body ?? {}))
        return ctx.json(400, {
          type: "error",
          error: { type: "invalid_request_error", message: "model: Extra inputs are not permitted" },
        });
      if ((method === "streamRawPredict") !== (body.stream === true))
        return ctx.json(400, geminiError(400, `${method} needs stream ${method === "streamRawPredict"}.`));
      const { anthropic_version: _version, ...rest } = body;
      forwarded = { ...rest, model };
      headers["anthropic-version"] = "2023-06-01";
      url = `${anthropic.url}/v1/messages`;
    } else {
      const search = new URL(req.url ?? "/", "http://fake").search;
      url = `${gemini.url}/v1beta/models/${encodeURIComponent(model)}:${method}${search}`;
    }
    const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(forwarded) });
    const text = await res.text();
    if (!String(res.headers.get("content-type")).includes("event-stream")) {
      const json = JSON.parse(text);
      if (res.ok) reported.push(anthropicMethod ? json.usage : json.usageMetadata);
      return ctx.json(res.status, json);
    }
    const events = text.split(/(?<=\r?\n\r?\n)/).filter((e) => e.trim());
    const datas = events.map((e) => JSON.parse(/^data: (.*)$/m.exec(e)?.[1] ?? "{}"));
    if (anthropicMethod) {
      const start = datas.find((d) => d.type === "message_start")?.message?.usage ?? {};
      const delta = datas.find((d) => d.type === "message_delta")?.usage ?? {};
      reported.push({ ...start, ...delta });
    } else reported.push(datas.at(-1)?.usageMetadata);
    await ctx.sse(events);
  }, geminiError);
  const close = server.close;
  return Object.assign(server, {
    reported,
    rateLimit(times: number) {
      server.setFault(
        {
          type: "status",
          status: 429,
          message:
            "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute_per_project_per_base_model. Please submit a quota increase request. https://cloud.google.com/vertex-ai/docs/generative-ai/quotas-genai.",
        },
        times,
      );
    },
    async close() {
      await Promise.all([close(), gemini.close(), anthropic.close()]);
    },
  });
}
