/**
 * The SSRF guard against the IANA IPv6 Special-Purpose Address Registry: an
 * address inside every registry block gets the verdict the registry implies
 * (globally reachable → public; not → private or forbidden; IPv4 carried in
 * NAT64, SIIT, IPv4-mapped, 6to4 and Teredo addresses → the IPv4 rules), both
 * in the classifier and where a user meets it: saving a custom provider's
 * base URL over HTTP, and the connect-time check on resolved addresses.
 */
import ipaddr from "ipaddr.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addressAllowed,
  classifyAddress,
  createGuardedDispatcher,
  type LookupFn,
  parseAllowList,
} from "../src/gateway/net/ssrf.js";
import { IANA_IPV6_SPECIAL, OTHER_IPV6, type Verdict } from "./fixtures/iana-ipv6-special.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, createOrg } from "./helpers/fixtures.js";

const rows = [
  ...IANA_IPV6_SPECIAL.flatMap((e) =>
    e.samples.map(([address, verdict]) => ({
      prefix: e.prefix,
      name: e.name,
      address,
      verdict,
      reachable: e.globallyReachable,
    })),
  ),
  ...OTHER_IPV6.map(([prefix, name, address, verdict]) => ({
    prefix,
    name,
    address,
    verdict,
    reachable: null as boolean | null,
  })),
];

describe("IPv6 special-purpose registry: the table itself", () => {
  it.each(rows)("$address lies in $prefix ($name)", ({ prefix, address }) => {
    expect(ipaddr.IPv6.parse(address).match(ipaddr.IPv6.parseCIDR(prefix))).toBe(true);
  });

  it.each(IANA_IPV6_SPECIAL.filter((e) => !e.carriesIPv4))(
    "$prefix $name: the expected verdicts follow Globally Reachable ($globallyReachable)",
    (e) => {
      for (const [, verdict] of e.samples) {
        if (e.globallyReachable === true) expect(verdict).toBe("public");
        if (e.globallyReachable === false) expect(verdict).not.toBe("public");
      }
    },
  );
});

describe("classifyAddress on every registry block", () => {
  it.each(rows)("$address ($prefix, $name) → $verdict", ({ address, verdict }) => {
    expect(classifyAddress(address)).toBe(verdict);
  });

  it("an allowlist can open a private block by CIDR, never a forbidden address inside it", () => {
    const allow = parseAllowList(["64:ff9b:1::/48", "2001:2::/48"]);
    expect(addressAllowed("64:ff9b:1::808:808", "nat64.internal", allow)).toBe(true);
    expect(addressAllowed("64:ff9b:1::a9fe:a9fe", "nat64.internal", allow)).toBe(false);
    expect(addressAllowed("2001:2::1", "bench.internal", allow)).toBe(true);
    expect(addressAllowed("5f00::1", "sid.internal", allow)).toBe(false);
    // IPv4 carried in IPv6 is allowed by its IPv4 network, as the plain IPv4 would be.
    const v4 = parseAllowList(["10.0.0.0/8"]);
    expect(addressAllowed("::ffff:0:a00:1", "x", v4)).toBe(true);
    expect(addressAllowed("64:ff9b::a00:1", "x", v4)).toBe(true);
    expect(addressAllowed("2002:a00:1::1", "x", v4)).toBe(true);
  });
});

describe("connect time: a name resolving into a special block", () => {
  const lookupTo =
    (address: string): LookupFn =>
    (_h, _o, cb) =>
      cb(null, [{ address, family: 6 }]);
  it.each(rows.filter((r) => r.verdict !== "public"))(
    "$address ($name) is refused before connecting",
    async ({ address }) => {
      const d = createGuardedDispatcher([], { lookup: lookupTo(address), connectTimeoutMs: 2000 });
      try {
        const err = await d.request({ origin: "http://provider.example", path: "/v1/models", method: "GET" }).then(
          () => null,
          (e: { code?: string }) => e,
        );
        expect(err?.code).toBe("ERR_TOLLGATE_SSRF_BLOCKED");
      } finally {
        await d.close();
      }
    },
  );
});

describe(`custom provider base URLs in special IPv6 blocks, over HTTP (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let org: string;
  let n = 0;
  const codeFor: Record<Exclude<Verdict, "public">, string> = {
    private: "BASE_URL_PRIVATE_ADDRESS",
    forbidden: "BASE_URL_FORBIDDEN_ADDRESS",
  };

  beforeAll(async () => {
    t = await startTestApp();
    owner = await t.signUp();
    org = (await createOrg(owner)).slug;
  });
  afterAll(() => t.close());

  it.each(rows)("POST /providers with http://[$address]/v1 ($name) → $verdict", async ({ address, verdict }) => {
    const slug = `ipv6-${++n}`;
    const before = await count(t, "custom_providers");
    const res = await owner.post(`/api/v1/orgs/${org}/providers`, {
      name: slug,
      slug,
      format: "openai",
      baseUrl: `http://[${address}]/v1`,
      models: [{ id: "m" }],
    });
    if (verdict === "public") {
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe(codeFor[verdict]);
    expect(await count(t, "custom_providers")).toBe(before);
  });
});
