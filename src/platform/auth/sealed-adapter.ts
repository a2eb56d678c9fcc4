/**
 * A database adapter for the auth library that seals one secret at rest: the
 * OIDC client secret inside an SSO provider's `oidcConfig` JSON, which the
 * SSO plugin would otherwise store as plain text. It wraps the Drizzle
 * adapter: on the way in (create, update) the `clientSecret` is sealed with
 * the instance's secret box, bound to the configuration's issuer and client id
 * (a sealed secret copied into another configuration does not open); on the
 * way out (find, create/update results) it is opened again, so the plugin
 * sees the configuration it wrote. Every other model passes through untouched,
 * and so does a transaction's adapter (the plugin reads providers inside one).
 */
import type { BetterAuthOptions } from "better-auth";
import type { DBAdapter, DBTransactionAdapter } from "better-auth/adapters";
import type { SecretBox } from "../secretbox.js";

const MODEL = "ssoProvider";
const FIELD = "oidcConfig";
const SEALED = /^v1\.[^.]+\./;

type Factory = (options: BetterAuthOptions) => DBAdapter<BetterAuthOptions>;
type Row = Record<string, unknown>;

interface OidcJson {
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
}

function mapSecret(value: unknown, fn: (secret: string, context: string) => string | null): unknown {
  if (typeof value !== "string") return value;
  let config: OidcJson;
  try {
    config = JSON.parse(value) as OidcJson;
  } catch {
    return value;
  }
  if (typeof config.clientSecret !== "string" || !config.clientSecret) return value;
  const next = fn(config.clientSecret, `sso-oidc:${config.issuer ?? ""}:${config.clientId ?? ""}`);
  return next === null ? value : JSON.stringify({ ...config, clientSecret: next });
}

export function sealSsoSecrets(factory: Factory, box: SecretBox): Factory {
  const seal = (row: Row | null | undefined) =>
    row && FIELD in row
      ? { ...row, [FIELD]: mapSecret(row[FIELD], (s, c) => (SEALED.test(s) ? null : box.seal(s, c))) }
      : row;
  const open = <T>(row: T): T => {
    const r = row as Row | null;
    if (!r || typeof r !== "object" || !(FIELD in r)) return row;
    return { ...r, [FIELD]: mapSecret(r[FIELD], (s, c) => (SEALED.test(s) ? box.open(s, c) : null)) } as T;
  };

  function wrap<A extends DBTransactionAdapter<BetterAuthOptions>>(inner: A): A {
    return {
      ...inner,
      create: async (q) =>
        q.model === MODEL ? open(await inner.create({ ...q, data: seal(q.data as Row) as never })) : inner.create(q),
      update: async (q) =>
        q.model === MODEL
          ? open(await inner.update({ ...q, update: seal(q.update as Row) as never }))
          : inner.update(q),
      updateMany: (q) =>
        q.model === MODEL ? inner.updateMany({ ...q, update: seal(q.update as Row) as never }) : inner.updateMany(q),
      findOne: async (q) => (q.model === MODEL ? open(await inner.findOne(q)) : inner.findOne(q)),
      findMany: async (q) => (q.model === MODEL ? (await inner.findMany(q)).map(open) : inner.findMany(q)),
    };
  }

  return (options) => {
    const inner = factory(options);
    return { ...wrap(inner), transaction: (cb) => inner.transaction((trx) => cb(wrap(trx))) };
  };
}
