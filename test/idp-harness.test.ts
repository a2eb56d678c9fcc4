/**
 * The test identity providers on their own, against real protocol clients and no Tollgate app: the OpenID Connect
 * provider through discovery, a code flow with PKCE driven by `followSignIn` to a loopback callback, the token
 * endpoint and JWKS-verified ID tokens; the SAML IdP through a samlify service provider that reads its metadata
 * over HTTP, validates responses against the SAML schema (xmllint) and checks signatures and audience.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as xmllint from "@authenio/samlify-xmllint-wasm";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as samlifyModule from "samlify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { followSignIn, type OidcIdp, startOidcIdp } from "./helpers/oidc-idp.js";
import { type SamlIdp, startSamlIdp } from "./helpers/saml-idp.js";

const samlify = (samlifyModule as unknown as { default?: typeof samlifyModule }).default ?? samlifyModule;

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  jwks_uri: string;
  token_endpoint_auth_methods_supported: string[];
  code_challenge_methods_supported: string[];
  id_token_signing_alg_values_supported: string[];
  scopes_supported: string[];
}

describe("OpenID Connect test IdP", () => {
  let app: Server;
  let callbackUrl: string;
  const seenByApp: Array<{ url: URL; cookie?: string }> = [];
  let idp: OidcIdp;
  let discovery: Discovery;

  beforeAll(async () => {
    // The "app": a callback that records what reached it and answers like an app would (session cookie, redirect).
    app = createServer((req, res) => {
      seenByApp.push({ url: new URL(req.url ?? "/", callbackUrl), cookie: req.headers.cookie });
      res.writeHead(302, { location: "/dashboard", "set-cookie": "app_session=signed-in; Path=/; HttpOnly" }).end();
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    callbackUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/callback`;
    idp = await startOidcIdp({ redirectUris: [callbackUrl] });
    discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Discovery;
  });

  afterAll(async () => {
    await idp?.close();
    await new Promise<void>((resolve) => app?.close(() => resolve()));
  });

  /** Starts a code flow with PKCE the way a relying party does; returns the IdP URL and what to check later. */
  function authorization() {
    const verifier = randomBytes(32).toString("base64url");
    const state = randomBytes(8).toString("hex");
    const nonce = randomBytes(8).toString("hex");
    const url = new URL(discovery.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: idp.clientId,
      redirect_uri: callbackUrl,
      response_type: "code",
      scope: "openid email profile",
      state,
      nonce,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    }).toString();
    return { url: url.href, verifier, state, nonce };
  }

  async function redeem(code: string, verifier: string, auth: "basic" | "post") {
    const form = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: callbackUrl,
      code_verifier: verifier,
    });
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (auth === "basic") {
      const pair = `${encodeURIComponent(idp.clientId)}:${encodeURIComponent(idp.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
    } else {
      form.set("client_id", idp.clientId);
      form.set("client_secret", idp.clientSecret);
    }
    return fetch(discovery.token_endpoint, { method: "POST", headers, body: form });
  }

  it("serves discovery for a plain-http loopback issuer", () => {
    expect(discovery.issuer).toBe(idp.issuer);
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["client_secret_basic", "client_secret_post"]),
    );
    expect(discovery.code_challenge_methods_supported).toContain("S256");
    expect(discovery.id_token_signing_alg_values_supported).toContain("RS256");
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(["openid", "email", "profile"]));
  });

  it("signs in the signInAs user through a full code flow, ID token verified against the JWKS", async () => {
    idp.signInAs({ sub: "ada-1", email: "ada@acme.test", name: "Ada Lovelace" });
    const start = authorization();
    const landed = await followSignIn(start.url, { appCookies: "sso_state=started-here" });

    // The flow stops at the app's own answer, not after following it.
    expect(landed.status).toBe(302);
    expect(landed.location).toBe("/dashboard");
    expect(landed.setCookie).toEqual([expect.stringContaining("app_session=signed-in")]);
    const callback = seenByApp.at(-1)!;
    expect(callback.url.pathname).toBe("/callback");
    expect(callback.cookie).toBe("sso_state=started-here");
    expect(callback.url.searchParams.get("state")).toBe(start.state);
    const code = callback.url.searchParams.get("code")!;
    expect(code).toBeTruthy();

    const tokenRes = await redeem(code, start.verifier, "basic");
    expect(tokenRes.status).toBe(200);
    const tokens = (await tokenRes.json()) as { id_token: string; access_token: string; token_type: string };
    const { payload, protectedHeader } = await jwtVerify(
      tokens.id_token,
      createRemoteJWKSet(new URL(discovery.jwks_uri)),
      {
        issuer: idp.issuer,
        audience: idp.clientId,
      },
    );
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload).toMatchObject({ sub: "ada-1", email: "ada@acme.test", email_verified: true, nonce: start.nonce });

    const userinfo = await fetch(discovery.userinfo_endpoint, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(await userinfo.json()).toEqual({
      sub: "ada-1",
      email: "ada@acme.test",
      email_verified: true,
      name: "Ada Lovelace",
    });

    // A code is good once.
    expect((await redeem(code, start.verifier, "basic")).status).toBe(400);
  });

  it("signs in whoever signInAs names next, redeemed with client_secret_post", async () => {
    idp.signInAs({ sub: "bob-2", email: "bob@acme.test", emailVerified: false });
    const start = authorization();
    await followSignIn(start.url);
    const code = seenByApp.at(-1)!.url.searchParams.get("code")!;
    const tokenRes = await redeem(code, start.verifier, "post");
    expect(tokenRes.status).toBe(200);
    const { id_token } = (await tokenRes.json()) as { id_token: string };
    const { payload } = await jwtVerify(id_token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: idp.issuer,
      audience: idp.clientId,
    });
    expect(payload).toMatchObject({ sub: "bob-2", email: "bob@acme.test", email_verified: false });
    expect(payload.name).toBeUndefined();
  });

  it("refuses a wrong client secret and a wrong PKCE verifier at the token endpoint", async () => {
    idp.signInAs({ sub: "ada-1", email: "ada@acme.test" });
    const start = authorization();
    await followSignIn(start.url);
    const code = seenByApp.at(-1)!.url.searchParams.get("code")!;
    const wrongSecret = await fetch(discovery.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: callbackUrl,
        code_verifier: start.verifier,
        client_id: idp.clientId,
        client_secret: "not-the-secret",
      }),
    });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: "invalid_client" });
    const wrongVerifier = await redeem(code, randomBytes(32).toString("base64url"), "basic");
    expect(await wrongVerifier.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("signs nobody in before signInAs", async () => {
    const fresh = await startOidcIdp({ redirectUris: [callbackUrl] });
    try {
      const url = new URL(`${fresh.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: fresh.clientId,
        redirect_uri: callbackUrl,
        response_type: "code",
        scope: "openid email",
      }).toString();
      await expect(followSignIn(url.href)).rejects.toThrow(/403.*\n.*signInAs/);
    } finally {
      await fresh.close();
    }
  });
});

describe("SAML test IdP", () => {
  const acsUrl = "http://127.0.0.1:1/api/auth/sso/saml2/sp/acs/acme";
  const spEntityId = "http://127.0.0.1:1/api/auth/sso/saml2/sp/metadata?providerId=acme";
  let idp: SamlIdp;
  let sp: ReturnType<typeof samlify.ServiceProvider>;
  let idpAsSpSeesIt: ReturnType<typeof samlify.IdentityProvider>;

  beforeAll(async () => {
    // The service provider validates every response against the SAML schema before trusting it.
    samlify.setSchemaValidator(xmllint);
    idp = await startSamlIdp();
    const metadata = await (await fetch(idp.metadataUrl)).text();
    idpAsSpSeesIt = samlify.IdentityProvider({ metadata });
    sp = samlify.ServiceProvider({
      entityID: spEntityId,
      assertionConsumerService: [{ Binding: samlify.Constants.namespace.binding.post, Location: acsUrl }],
      wantAssertionsSigned: true,
      relayState: "relay-123",
    });
  });

  afterAll(async () => {
    await idp?.close();
  });

  /** What a careful SP does with a posted response: samlify checks schema and signatures; the audience is ours. */
  async function accept(form: { SAMLResponse: string; RelayState?: string }) {
    const { extract } = await sp.parseLoginResponse(idpAsSpSeesIt, "post", { body: form });
    if (extract.audience !== spEntityId) throw new Error(`audience ${String(extract.audience)} is not this SP`);
    return extract;
  }

  function loginRequest() {
    const { id, context } = sp.createLoginRequest(idpAsSpSeesIt, "redirect");
    return { id, redirectUrl: context };
  }

  it("publishes metadata with its entity ID, both SSO bindings and its signing certificate", () => {
    expect(idp.metadataXml).toContain(`entityID="${idp.entityId}"`);
    expect(idpAsSpSeesIt.entityMeta.getEntityID()).toBe(idp.entityId);
    const b64 = idp.certificatePem.replace(/-----[^-]+-----|\s/g, "");
    expect(idpAsSpSeesIt.entityMeta.getX509Certificate("signing")).toBe(b64);
    expect(idpAsSpSeesIt.entityMeta.getSingleSignOnService(samlify.Constants.namespace.binding.redirect)).toBeTruthy();
    expect(idpAsSpSeesIt.entityMeta.getSingleSignOnService(samlify.Constants.namespace.binding.post)).toBeTruthy();
  });

  it("answers an AuthnRequest with a signed response the SP accepts", async () => {
    const { id, redirectUrl } = loginRequest();
    const answer = await idp.respond(redirectUrl, { nameId: "ada-1", email: "ada@acme.test", name: "Ada Lovelace" });
    expect(answer.acsUrl).toBe(acsUrl);
    expect(answer.form.RelayState).toBe("relay-123");

    const extract = await accept(answer.form);
    expect(extract.nameID).toBe("ada-1");
    expect(extract.attributes).toMatchObject({
      email: "ada@acme.test",
      name: "Ada Lovelace",
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": "ada@acme.test",
    });
    expect(extract.response).toMatchObject({ inResponseTo: id, destination: acsUrl });
    expect(extract.issuer).toContain(idp.entityId);
    const xml = Buffer.from(answer.form.SAMLResponse, "base64").toString("utf8");
    // Two signatures (response and assertion), RSA-SHA256 over SHA-256 digests, with validity conditions.
    expect(xml.match(/<ds:Signature /g)).toHaveLength(2);
    expect(xml).toContain('Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"');
    expect(xml).toContain('Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"');
    expect(extract.conditions).toMatchObject({ notBefore: expect.any(String), notOnOrAfter: expect.any(String) });
  });

  it("a response altered after signing is rejected", async () => {
    const { redirectUrl } = loginRequest();
    const answer = await idp.respond(redirectUrl, { nameId: "ada-1", email: "ada@acme.test" }, { tamper: true });
    expect(Buffer.from(answer.form.SAMLResponse, "base64").toString("utf8")).toContain("ada+intruder@acme.test");
    await expect(accept(answer.form)).rejects.toThrow(/SIGNATURE/);
  });

  it("a genuinely signed response for another audience is rejected", async () => {
    const { redirectUrl } = loginRequest();
    const answer = await idp.respond(redirectUrl, { nameId: "ada-1", email: "ada@acme.test" }, { wrongAudience: true });
    await expect(accept(answer.form)).rejects.toThrow(/audience .* is not this SP/);
  });
});
