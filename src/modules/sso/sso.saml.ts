/**
 * SAML identity provider metadata for an organization's connection: given as
 * XML or fetched once from a URL at configuration time (through the SSRF
 * guard: identity providers on private networks only when their host is in
 * TOLLGATE_SSO_TRUSTED_ORIGINS), then read with samlify (the SAML library the
 * auth library uses) for the IdP's entity id and its sign-in URL. The stored
 * XML is what sign-in uses; a URL is not fetched again behind the owner's back.
 */
import * as samlifyModule from "samlify";
import { type Dispatcher, request } from "undici";
import { appError } from "../../platform/errors.js";

// samlify is CommonJS: under Node's own ESM loader only some of its exports are named; all are on `default`.
const { IdPMetadata } = (samlifyModule as unknown as { default?: typeof samlifyModule }).default ?? samlifyModule;

/** The most metadata accepted (the auth library refuses more than this too). */
export const MAX_METADATA_BYTES = 100 * 1024;

/** samlify's names for the HTTP-Redirect and HTTP-POST bindings, in the order sign-in prefers them. */
const BINDINGS = ["redirect", "post"];

export interface LoadedMetadata {
  xml: string;
  entityId: string;
  /** The IdP's single sign-on URL (HTTP-Redirect binding, else HTTP-POST). */
  entryPoint: string;
}

export interface SamlMetadataSource {
  load(input: { metadataXml: string } | { metadataUrl: string }): Promise<LoadedMetadata>;
}

function read(xml: string): LoadedMetadata {
  try {
    const meta = IdPMetadata(xml);
    const entityId = meta.getEntityID();
    const sso = BINDINGS.map((b) => meta.getSingleSignOnService(b)).find((u) => typeof u === "string");
    if (!entityId || typeof sso !== "string") throw new Error("no entity id or single sign-on service");
    return { xml, entityId, entryPoint: sso };
  } catch (err) {
    throw appError(
      "SSO_CONFIG_INVALID",
      `The SAML metadata could not be read (${err instanceof Error ? err.message : "invalid XML"}): paste the IdP's metadata XML.`,
    );
  }
}

export function createSamlMetadataSource(dispatcher: Dispatcher): SamlMetadataSource {
  return {
    async load(input) {
      if ("metadataXml" in input) return read(input.metadataXml);
      let body: string;
      try {
        const res = await request(input.metadataUrl, {
          dispatcher,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        if (res.statusCode !== 200) {
          await res.body.dump();
          throw new Error(`HTTP ${res.statusCode}`);
        }
        const length = Number(res.headers["content-length"] ?? 0);
        if (length > MAX_METADATA_BYTES) {
          await res.body.dump();
          throw new Error("larger than 100 KiB");
        }
        body = await res.body.text();
        if (Buffer.byteLength(body) > MAX_METADATA_BYTES) throw new Error("larger than 100 KiB");
      } catch (err) {
        throw appError(
          "SSO_CONFIG_INVALID",
          `The SAML metadata URL could not be fetched (${err instanceof Error ? err.message : "error"}).`,
        );
      }
      return read(body);
    },
  };
}

export interface IdpSummary {
  idpEntityId: string | null;
  idpSsoUrl: string | null;
  /** The stored metadata (public data), so a client can send it back unchanged on the next save. */
  metadataXml: string | null;
}

/** The IdP side of a stored SAML connection, for the API: entity id, sign-in URL and the metadata itself. */
export function idpMetadataSummary(samlConfigJson: string | null): IdpSummary {
  try {
    const config = JSON.parse(samlConfigJson ?? "{}") as { entryPoint?: string; idpMetadata?: { metadata?: string } };
    const xml = config.idpMetadata?.metadata ?? null;
    return {
      idpEntityId: xml ? IdPMetadata(xml).getEntityID() : null,
      idpSsoUrl: config.entryPoint ?? null,
      metadataXml: xml,
    };
  } catch {
    return { idpEntityId: null, idpSsoUrl: null, metadataXml: null };
  }
}
