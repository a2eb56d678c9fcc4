/**
 * An organization proves an email domain the way its owner does in the UI:
 * claims it under single sign-on (no connection needed), publishes the TXT
 * record Tollgate asks for on the loopback DNS server, and verifies it. The
 * app must run with TOLLGATE_DNS_SERVERS pointing at that server.
 */
import { expect } from "vitest";
import type { Client } from "./app.js";
import type { TestDns } from "./dns-server.js";

let domains = 0;
/** A domain no other organization in this run claims. */
export const uniqueDomain = (prefix = "corp") => `${prefix}-${Date.now().toString(36)}-${++domains}.test`;

/** An address at `domain`, unique in this run. */
export const addressAt = (domain: string, prefix = "user") => `${prefix}-${++domains}@${domain}`;

/** The owner claims and verifies `domain` for the organization `slug`. */
export async function verifyDomain(dns: TestDns, owner: Client, slug: string, domain: string): Promise<void> {
  const claimed = await owner.put(`/api/v1/orgs/${slug}/sso`, { domains: [domain] });
  expect(claimed.status, JSON.stringify(claimed.body)).toBe(200);
  const { record, value } = claimed.body.domains[0].txtRecord as { record: string; value: string };
  dns.setTxt(record, [value]);
  const verified = await owner.post(`/api/v1/orgs/${slug}/sso/domains/${domain}/verify`);
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  expect(verified.body.domains[0]).toMatchObject({ domain, verified: true });
}
