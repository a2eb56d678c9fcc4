/**
 * A SAML 2.0 identity provider in the test process (samlify) for single sign-on tests: it publishes real IdP
 * metadata on 127.0.0.1 and answers an SP's HTTP-Redirect AuthnRequest with a signed HTTP-POST Response.
 *
 * Invariants:
 * - XML building and signing are samlify's (xml-crypto underneath): the assertion and the whole response are
 *   signed, RSA-SHA256 with a SHA-256 digest, with the test-only key in test/fixtures/saml/.
 * - A response answers one request: InResponseTo = the AuthnRequest's ID, Destination and Recipient = its ACS URL,
 *   Audience = its Issuer (the SP entity ID), valid from now for five minutes.
 * - The AuthnRequest is read with samlify's own decoder and extractor, which need no schema validator, so this
 *   file never sets samlify's process-wide validator: an app under test keeps the one it installed itself.
 * - `tamper` edits the signed XML after signing; `wrongAudience` signs a genuine response for another audience.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as samlifyModule from "samlify";

// samlify is CommonJS: under Node's ESM loader only some of its exports are named, all are on `default`.
const samlify = (samlifyModule as unknown as { default?: typeof samlifyModule }).default ?? samlifyModule;

const FIXTURES = new URL("../fixtures/saml/", import.meta.url);
const { binding, format } = samlify.Constants.namespace;
const BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";
const URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
const EMAIL_CLAIM_URI = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
const NAME_CLAIM_URI = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
/** The audience a `wrongAudience` response is addressed to: some other service provider. */
const OTHER_AUDIENCE = "https://another-service.invalid/saml/metadata";

const RESPONSE_TEMPLATE =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">' +
  "<saml:Issuer>{Issuer}</saml:Issuer>" +
  '<samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status>' +
  '<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
  "<saml:Issuer>{Issuer}</saml:Issuer>" +
  '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>' +
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
  '<saml:SubjectConfirmationData NotOnOrAfter="{SubjectConfirmationDataNotOnOrAfter}" Recipient="{SubjectRecipient}" InResponseTo="{InResponseTo}"/>' +
  "</saml:SubjectConfirmation></saml:Subject>" +
  '<saml:Conditions NotBefore="{ConditionsNotBefore}" NotOnOrAfter="{ConditionsNotOnOrAfter}">' +
  "<saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>" +
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext>' +
  "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>" +
  "</saml:AuthnContext></saml:AuthnStatement>" +
  "{AttributeStatement}</saml:Assertion></samlp:Response>";

export interface SamlIdpUser {
  nameId: string;
  email: string;
  name?: string;
}

export interface SamlIdp {
  entityId: string;
  /** IdP metadata: entityID, SSO service (HTTP-Redirect and HTTP-POST), signing cert. */
  metadataXml: string;
  /** The same XML served over HTTP on loopback. */
  metadataUrl: string;
  certificatePem: string;
  /** Given the IdP URL Tollgate redirected the browser to (HTTP-Redirect binding, carrying SAMLRequest and
   *  RelayState), builds the signed SAML Response for `user` addressed to the request's ACS URL with the
   *  request's ID as InResponseTo, and returns what the browser would POST to the app. */
  respond(
    redirectUrl: string,
    user: SamlIdpUser,
    opts?: { tamper?: boolean; wrongAudience?: boolean },
  ): Promise<{ acsUrl: string; form: { SAMLResponse: string; RelayState?: string } }>;
  close(): Promise<void>;
}

/** The AuthnRequest fields a response depends on, read with samlify's decoder and extractor. */
function readAuthnRequest(redirectUrl: string) {
  const query = new URL(redirectUrl).searchParams;
  const encoded = query.get("SAMLRequest");
  if (!encoded) throw new Error(`no SAMLRequest in ${redirectUrl}`);
  const xml = samlify.Utility.inflateString(encoded);
  const extracted = samlify.Extractor.extract(xml, samlify.Extractor.loginRequestFields);
  const request = (extracted.request ?? {}) as Record<string, string | undefined>;
  const policy = (extracted.nameIDPolicy ?? {}) as Record<string, string | undefined>;
  const issuer = typeof extracted.issuer === "string" ? extracted.issuer : undefined;
  const id = request.id;
  const acsUrl = request.assertionConsumerServiceUrl;
  if (!id || !issuer || !acsUrl) {
    throw new Error(`AuthnRequest lacks ID, Issuer or AssertionConsumerServiceURL:\n${xml}`);
  }
  return { id, issuer, acsUrl, nameIdFormat: policy.format, relayState: query.get("RelayState") ?? undefined };
}

/** The tampered copy: the signed XML with the user's email swapped for another after signing. */
function tamperWith(samlResponse: string, email: string): string {
  const xml = Buffer.from(samlResponse, "base64").toString("utf8");
  const [local, domain] = email.split("@");
  const altered = xml.split(`>${email}<`).join(`>${local}+intruder@${domain}<`);
  if (altered === xml) throw new Error("tamper: the email is not in the signed response");
  return Buffer.from(altered, "utf8").toString("base64");
}

export async function startSamlIdp(): Promise<SamlIdp> {
  const privateKey = readFileSync(new URL("idp-key.pem", FIXTURES), "utf8");
  const certificatePem = readFileSync(new URL("idp-cert.pem", FIXTURES), "utf8");

  let metadataXml = "";
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/saml/metadata") {
      res.writeHead(200, { "content-type": "application/samlmetadata+xml" }).end(metadataXml);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("test SAML IdP: only /saml/metadata is served");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entityId = `${origin}/saml/metadata`;
  const ssoUrl = `${origin}/saml/sso`;

  const idp = samlify.IdentityProvider({
    entityID: entityId,
    privateKey,
    signingCert: certificatePem,
    requestSignatureAlgorithm: samlify.Constants.algorithms.signature.RSA_SHA256,
    wantAuthnRequestsSigned: false,
    nameIDFormat: [format.unspecified, format.emailAddress],
    singleSignOnService: [
      { Binding: binding.redirect, Location: ssoUrl },
      { Binding: binding.post, Location: ssoUrl },
    ],
    loginResponseTemplate: {
      context: RESPONSE_TEMPLATE,
      attributes: [
        { name: "email", valueTag: "email", nameFormat: BASIC, valueXsiType: "xs:string" },
        { name: "name", valueTag: "name", nameFormat: BASIC, valueXsiType: "xs:string" },
        { name: EMAIL_CLAIM_URI, valueTag: "email", nameFormat: URI, valueXsiType: "xs:string" },
        { name: NAME_CLAIM_URI, valueTag: "name", nameFormat: URI, valueXsiType: "xs:string" },
      ],
    },
  });
  metadataXml = idp.getMetadata();

  async function respond(
    redirectUrl: string,
    user: SamlIdpUser,
    opts: { tamper?: boolean; wrongAudience?: boolean } = {},
  ): Promise<{ acsUrl: string; form: { SAMLResponse: string; RelayState?: string } }> {
    const request = readAuthnRequest(redirectUrl);
    // The SP as this request describes it; wanting both signatures makes samlify sign assertion and response.
    const sp = samlify.ServiceProvider({
      entityID: request.issuer,
      assertionConsumerService: [{ Binding: binding.post, Location: request.acsUrl }],
      wantAssertionsSigned: true,
      wantMessageSigned: true,
    });
    const now = new Date();
    const fiveMinutesLater = new Date(now.getTime() + 5 * 60_000).toISOString();
    const responseId = `_${randomUUID()}`;
    const result = await idp.createLoginResponse(
      sp,
      { extract: { request: { id: request.id } } },
      "post",
      { ...user },
      {
        relayState: request.relayState,
        customTagReplacement: (template: string) => ({
          id: responseId,
          context: samlify.SamlLib.replaceTagsByValue(template, {
            ID: responseId,
            AssertionID: `_${randomUUID()}`,
            SessionIndex: `_${randomUUID()}`,
            Destination: request.acsUrl,
            SubjectRecipient: request.acsUrl,
            Audience: opts.wrongAudience ? OTHER_AUDIENCE : request.issuer,
            Issuer: entityId,
            IssueInstant: now.toISOString(),
            InResponseTo: request.id,
            StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Success",
            ConditionsNotBefore: now.toISOString(),
            ConditionsNotOnOrAfter: fiveMinutesLater,
            SubjectConfirmationDataNotOnOrAfter: fiveMinutesLater,
            NameIDFormat: request.nameIdFormat ?? format.unspecified,
            NameID: user.nameId,
            attrEmail: user.email,
            attrName: user.name,
          }),
        }),
      },
    );
    const SAMLResponse = opts.tamper ? tamperWith(result.context, user.email) : result.context;
    return {
      acsUrl: request.acsUrl,
      form: request.relayState === undefined ? { SAMLResponse } : { SAMLResponse, RelayState: request.relayState },
    };
  }

  return {
    entityId,
    metadataXml,
    metadataUrl: entityId,
    certificatePem,
    respond,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
