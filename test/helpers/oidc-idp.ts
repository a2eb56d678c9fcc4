/**
 * A real OpenID Connect identity provider in the test process (the `oidc-provider` package) on 127.0.0.1,
 * for single sign-on tests, plus `followSignIn`, a browserless driver of a sign-in through it.
 *
 * Invariants:
 * - Everything protocol-related is the library's: discovery, the authorization code flow (PKCE allowed, S256),
 *   client authentication (client_secret_basic and client_secret_post), RS256 ID tokens signed with a key
 *   generated at start (served as JWKS), userinfo. This file only configures it and answers its interactions.
 * - There is no login or consent page: an interaction completes at once, through the library's interaction API,
 *   as the user last given to `signInAs`, granting `openid email profile`. Without one, the interaction fails
 *   with 403, so a test that forgot `signInAs` sees an error instead of a stranger's sign-in.
 * - Email claims are in the ID token as well as at userinfo, so a relying party may read either.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";
import { parseCookie } from "undici";

export interface OidcIdpUser {
  sub: string;
  email: string;
  name?: string;
  emailVerified?: boolean;
}

export interface OidcIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The person the next authorization will sign in as (the IdP's login is automatic in tests). */
  signInAs(user: OidcIdpUser): void;
  close(): Promise<void>;
}

export async function startOidcIdp(opts: {
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  /** A port chosen beforehand (e.g. `freePort()`), so the app can trust the issuer's origin before the IdP starts. */
  port?: number;
}): Promise<OidcIdp> {
  const clientId = opts.clientId ?? "tollgate-test-client";
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString("hex");
  const accounts = new Map<string, OidcIdpUser>();
  let current: OidcIdpUser | null = null;

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "test-idp-rs256", alg: "RS256", use: "sig" };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        // The library accepts either secret method from a client registered with one of them.
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "RS256",
      },
    ],
    clientAuthMethods: ["client_secret_basic", "client_secret_post"],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    scopes: ["openid", "email", "profile"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    conformIdTokenClaims: false,
    ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const user = accounts.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: user.email,
            email_verified: user.emailVerified ?? true,
            ...(user.name === undefined ? {} : { name: user.name }),
          };
        },
      };
    },
  });
  const providerCallback = provider.callback();

  /** Completes the library's login prompt as `current`, then its consent prompt with the three scopes. */
  async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === "login") {
      if (!current) {
        res.writeHead(403, { "content-type": "text/plain" }).end("test IdP: no user; call signInAs first");
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: current.sub } },
        {
          mergeWithLastSubmission: false,
        },
      );
      return;
    }
    const accountId = details.session?.accountId;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    if (!grant) throw new Error("test IdP: grant vanished during consent");
    grant.addOIDCScope("openid email profile");
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith("/interaction/")) {
      interact(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(`test IdP interaction failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      return;
    }
    providerCallback(req, res);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(user) {
      accounts.set(user.sub, user);
      current = user;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Cookies one host has set, honouring Path and deletion; enough for a browser-like redirect chain. */
class HostCookies {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const cookie = parseCookie(header);
      if (!cookie) continue;
      const path = cookie.path ?? "/";
      const key = `${cookie.name}\n${path}`;
      const expired =
        (cookie.maxAge !== undefined && cookie.maxAge <= 0) ||
        (cookie.expires !== undefined && new Date(cookie.expires).getTime() <= Date.now());
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name: cookie.name, value: cookie.value, path });
    }
  }

  headerFor(pathname: string): string | undefined {
    const matching = [...this.cookies.values()].filter(
      (c) => pathname === c.path || pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`),
    );
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join("; ") : undefined;
  }
}

/**
 * Walks a sign-in through the IdP (cookie jar per host, redirects followed by hand) from the authorization URL
 * the app redirected to, and returns the first URL that leaves the IdP: the app's callback with the code and
 * state. Tests deliver it to the app with their own client (which holds the app's state cookie).
 */
export async function walkIdp(authorizationUrl: string): Promise<URL> {
  const idpOrigin = new URL(authorizationUrl).origin;
  const jars = new Map<string, HostCookies>();
  let url = new URL(authorizationUrl);
  for (let hop = 0; hop < 20; hop++) {
    if (url.origin !== idpOrigin) return url;
    let jar = jars.get(url.host);
    if (!jar) {
      jar = new HostCookies();
      jars.set(url.host, jar);
    }
    const cookie = jar.headerFor(url.pathname);
    const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
    const location = res.headers.get("location");
    const body = await res.text();
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`sign-in stopped at the IdP: ${res.status} ${url.href}\n${body.slice(0, 2000)}`);
    }
    jar.store(res.headers.getSetCookie());
    url = new URL(location, url);
  }
  throw new Error("sign-in did not leave the IdP within 20 redirects");
}

/** `walkIdp`, then the app's callback fetched over HTTP with `appCookies`; its first response, not followed. */
export async function followSignIn(
  authorizationUrl: string,
  opts: { appCookies?: string } = {},
): Promise<{ status: number; location: string | null; setCookie: string[] }> {
  const url = await walkIdp(authorizationUrl);
  const res = await fetch(url, { redirect: "manual", headers: opts.appCookies ? { cookie: opts.appCookies } : {} });
  await res.body?.cancel();
  return { status: res.status, location: res.headers.get("location"), setCookie: res.headers.getSetCookie() };
}

/** A loopback port free right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
