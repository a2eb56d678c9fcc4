/**
 * Domain ownership for single sign-on: an organization proves it holds an
 * email domain by publishing a TXT record `_tollgate-verification.<domain>`
 * whose value is `tollgate-verification=<token>` (the token is the
 * organization's own for that domain). Lookups use the system's resolvers,
 * or TOLLGATE_DNS_SERVERS (e.g. an internal resolver) when set.
 */
import { Resolver } from "node:dns/promises";
import { appError } from "../../platform/errors.js";
import type { DomainRow } from "./sso.repo.js";

export interface DomainResolver {
  /** The TXT values at `name` (each record's strings joined); empty when there is none. */
  txt(name: string): Promise<string[]>;
}

const NO_RECORD = new Set(["ENOTFOUND", "ENODATA", "NXDOMAIN"]);

export function createDomainResolver(servers: readonly string[]): DomainResolver {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  if (servers.length) resolver.setServers([...servers]);
  return {
    async txt(name) {
      try {
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(""));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "";
        if (NO_RECORD.has(code)) return [];
        throw appError("SSO_DOMAIN_NOT_VERIFIED", `The DNS lookup of ${name} failed (${code || "error"}); try again.`);
      }
    },
  };
}

/** The organization's domains as the API shows them, with the record to publish for each. */
export function describeDomains(rows: readonly DomainRow[]) {
  return rows.map((d) => ({
    domain: d.domain,
    verified: d.verifiedAt !== null,
    verifiedAt: d.verifiedAt?.toISOString() ?? null,
    txtRecord: { record: `_tollgate-verification.${d.domain}`, value: `tollgate-verification=${d.verificationToken}` },
  }));
}
