/**
 * Vertex AI's access tokens: a service account key exchanged for an OAuth
 * access token (scope cloud-platform) by the maintained google-auth-library
 * (its JWT client signs the assertion and caches the token, refreshing it
 * before expiry). Invariants:
 * - One client per key, token endpoint and dispatcher, kept for the process
 *   (bounded): a provider's calls share one token until the library refreshes
 *   it, and concurrent refreshes are one request (the library's). A client's
 *   requests always use the dispatcher it was made for.
 * - Only a parsed service account key reaches the library (config-vertex.ts),
 *   never a credential file of another type.
 * - The library's requests go out through the call's dispatcher (a custom
 *   provider's: the SSRF-guarded one) via undici's fetch, without following
 *   redirects, bounded by the call's connect + first-byte timeouts; the
 *   library's own retries are off (the gateway retries calls itself). The
 *   library always addresses Google's token endpoint: the request is sent to
 *   the provider's token URL instead, and the assertion's audience is that URL.
 * - A refused key is an `http` UpstreamError with status 401 (the gateway's
 *   upstream auth error), naming the endpoint's error code and description,
 *   never the key; a token endpoint that is down keeps its own status.
 */
import { JWT } from "google-auth-library";
import { type Dispatcher, fetch as undiciFetch } from "undici";
import { GOOGLE_TOKEN_URL, parseServiceAccountKey } from "../../../config-vertex.js";
import { classifyNetworkError, scrubSecret } from "../http/errors.js";
import { type CallOptions, UpstreamError } from "../types.js";

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const MAX_CLIENTS = 1_000;

/** Marks the errors of the token request's own fetch (as opposed to the library's, e.g. a key it cannot sign with). */
class TokenFetchError extends Error {
  constructor(readonly reason: unknown) {
    super("token request failed", { cause: reason });
  }
}

/** The TokenFetchError somewhere in an error's cause chain (the library wraps what fetch threw). */
function fetchFailure(err: unknown): TokenFetchError | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === "object"; i++) {
    if (e instanceof TokenFetchError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Where one client's requests go out; the timeout is the latest call's. */
interface Net {
  readonly dispatcher: Dispatcher;
  timeoutMs: number;
}

interface Client {
  jwt: JWT;
  net: Net;
  privateKey: string;
}

/** The access tokens of Vertex AI providers: one cached client per service account key, token URL and dispatcher. */
export function createVertexTokens(label: string) {
  const byDispatcher = new WeakMap<Dispatcher, Map<string, Client>>();

  function clientFor(keyJson: string, tokenUrlSetting: string | undefined, dispatcher: Dispatcher): Client {
    let clients = byDispatcher.get(dispatcher);
    if (!clients) {
      clients = new Map();
      byDispatcher.set(dispatcher, clients);
    }
    const cacheKey = `${tokenUrlSetting ?? ""}\n${keyJson}`;
    const hit = clients.get(cacheKey);
    if (hit) return hit;
    const key = parseServiceAccountKey(keyJson);
    if (typeof key === "string")
      throw new UpstreamError("http", `${label}: the provider's service account key is unusable (${key})`, {
        status: 401,
        retryable: false,
      });
    const tokenUrl = tokenUrlSetting ?? key.tokenUri ?? GOOGLE_TOKEN_URL;
    const net: Net = { dispatcher, timeoutMs: 30_000 };
    const fetchImplementation = async (input: unknown, init?: RequestInit): Promise<Response> => {
      // The JWT client only ever asks Google's token endpoint for a token (anything else is refused).
      const asked = String(input instanceof URL ? input.href : input);
      if (asked !== GOOGLE_TOKEN_URL) throw new Error(`${label}: unexpected auth request`);
      try {
        const res = await undiciFetch(tokenUrl, {
          method: init?.method ?? "POST",
          headers: init?.headers as never,
          body: init?.body as never,
          redirect: "manual",
          dispatcher: net.dispatcher,
          signal: AbortSignal.timeout(net.timeoutMs),
        });
        return res as unknown as Response;
      } catch (err) {
        throw new TokenFetchError(err);
      }
    };
    const jwt = new JWT({
      email: key.clientEmail,
      key: key.privateKey,
      ...(key.privateKeyId ? { keyId: key.privateKeyId } : {}),
      scopes: [SCOPE],
      // As Google's own libraries sign for a key's token_uri: the assertion is for the endpoint it is sent to.
      additionalClaims: { aud: tokenUrl },
      transporterOptions: { fetchImplementation, retryConfig: { retry: 0, noResponseRetries: 0 } },
    });
    const client = { jwt, net, privateKey: key.privateKey };
    if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value as string);
    clients.set(cacheKey, client);
    return client;
  }

  /** The UpstreamError of a failed token request (no key, no token in the message). */
  function tokenError(err: unknown, privateKey: string): UpstreamError {
    const e = err as { response?: { status?: number; data?: unknown }; cause?: unknown };
    const status = e.response?.status;
    if (status === undefined) {
      const failed = fetchFailure(err);
      if (!failed)
        return new UpstreamError(
          "http",
          scrubSecret(`${label}: the service account key cannot be used (${(err as Error).message})`, privateKey),
          { status: 401, retryable: false },
        );
      if ((failed.reason as { name?: unknown })?.name === "TimeoutError")
        return new UpstreamError("timeout_first_byte", `${label}: the token endpoint did not answer in time`);
      return classifyNetworkError(failed.reason, true, `${label} token endpoint`);
    }
    const data = (e.response?.data ?? {}) as { error?: unknown; error_description?: unknown };
    const code = typeof data.error === "string" ? data.error.slice(0, 100) : undefined;
    const what = [code, typeof data.error_description === "string" ? data.error_description : undefined]
      .filter(Boolean)
      .join(": ");
    if (status === 429 || status >= 500)
      return new UpstreamError(
        "http",
        scrubSecret(`${label}: the token endpoint answered HTTP ${status}${what ? ` (${what})` : ""}`, privateKey),
        { status, ...(code ? { upstreamCode: code } : {}) },
      );
    return new UpstreamError(
      "http",
      scrubSecret(
        `${label}: the token endpoint refused the service account key (HTTP ${status}${what ? `, ${what}` : ""})`,
        privateKey,
      ),
      { status: 401, retryable: false, ...(code ? { upstreamCode: code } : {}) },
    );
  }

  return {
    /** An access token for the key (JSON) and token URL, fetched through the call's dispatcher when due. */
    async accessToken(keyJson: string, tokenUrl: string | undefined, opts: CallOptions): Promise<string> {
      const client = clientFor(keyJson, tokenUrl, opts.dispatcher);
      client.net.timeoutMs = Math.min(opts.timeouts.connectMs + opts.timeouts.firstByteMs, opts.timeouts.totalMs);
      if (opts.signal.aborted) throw new UpstreamError("aborted", `${label} request aborted by the caller`);
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new UpstreamError("aborted", `${label} request aborted by the caller`));
        opts.signal.addEventListener("abort", onAbort, { once: true });
      });
      aborted.catch(() => undefined);
      try {
        const { token } = await Promise.race([client.jwt.getAccessToken(), aborted]);
        if (!token) throw new UpstreamError("protocol", `${label}: the token endpoint returned no access token`);
        return token;
      } catch (err) {
        if (err instanceof UpstreamError) throw err;
        throw tokenError(err, client.privateKey);
      } finally {
        opts.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
