/**
 * SSRF guard for provider base URLs, applied twice: at save time on the URL
 * (`validateBaseUrl`) and at connect time on every resolved address
 * (`createGuardedDispatcher`), which defeats DNS rebinding and names that
 * point inside the network. Invariants:
 * - Link-local, cloud metadata, unspecified, multicast, documentation and
 *   reserved addresses are refused always; no allowlist entry can open them.
 * - Loopback, RFC1918, CGNAT, unique-local and the other ranges that are not
 *   globally reachable are refused unless the host name or an IP/CIDR entry of
 *   TOLLGATE_ALLOWED_PROVIDER_HOSTS allows them.
 * - IPv6 follows the IANA IPv6 Special-Purpose Address Registry (table below);
 *   an IPv4 address carried inside IPv6 (mapped, compatible, SIIT, NAT64, 6to4)
 *   is judged by the IPv4 rules, since that is where the packets end up.
 * - If any resolved address of a name is refused, the connection is refused.
 * - Numeric IPv4 forms (decimal, octal, hex, short) are normalised by the
 *   WHATWG URL parser before we look at them; brackets are stripped for IPv6.
 */
import { BlockList, isIP } from "node:net";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import ipaddr from "ipaddr.js";
import { Agent, buildConnector } from "undici";

export type AddressClass = "public" | "private" | "forbidden";

const forbidden = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["169.254.0.0", 16],
  ["100.100.100.200", 32],
  ["192.0.0.192", 32],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  forbidden.addSubnet(net, prefix, "ipv4");

const privateNets = new BlockList();
for (const [net, prefix] of [
  ["127.0.0.0", 8],
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["100.64.0.0", 10],
  ["192.0.0.0", 24],
  ["198.18.0.0", 15],
] as const)
  privateNets.addSubnet(net, prefix, "ipv4");

function classifyIPv4(ip: string): AddressClass {
  if (forbidden.check(ip, "ipv4")) return "forbidden";
  return privateNets.check(ip, "ipv4") ? "private" : "public";
}

/**
 * How an IPv6 range is judged. `embedded`: by the IPv4 in the last 32 bits;
 * `6to4`: by the IPv4 in bits 16–47; `teredo` and `nat64-local`: never public
 * (not globally reachable), and forbidden when an IPv4 they may carry is.
 */
type V6Rule = AddressClass | "embedded" | "6to4" | "teredo" | "nat64-local";

/**
 * The IANA IPv6 Special-Purpose Address Registry, the address architecture's
 * other blocks (RFC 4291) and the metadata services; longest prefix wins.
 * Not globally reachable → private (an operator may allow it) or forbidden
 * (nothing a provider can sit behind: unspecified, link-local, documentation,
 * discard, reserved). Outside these, only global unicast (2000::/3) is public.
 */
const V6_RULES: ReadonlyArray<readonly [string, number, V6Rule]> = [
  ["::", 0, "forbidden"], // unassigned, reserved by the IETF
  ["::", 8, "forbidden"], // reserved by the IETF (RFC 4291)
  ["::", 128, "forbidden"], // unspecified
  ["::1", 128, "private"], // loopback
  ["::", 96, "embedded"], // IPv4-compatible (deprecated, RFC 4291)
  ["::ffff:0:0", 96, "embedded"], // IPv4-mapped
  ["::ffff:0:0:0", 96, "embedded"], // IPv4-translated, SIIT (RFC 2765/6145)
  ["64:ff9b::", 96, "embedded"], // NAT64 well-known prefix (RFC 6052)
  ["64:ff9b:1::", 48, "nat64-local"], // local-use IPv4/IPv6 translation (RFC 8215)
  ["100::", 64, "forbidden"], // discard-only (RFC 6666)
  ["100:0:0:1::", 64, "forbidden"], // dummy IPv6 prefix (RFC 9780)
  ["2000::", 3, "public"], // global unicast
  ["2001::", 23, "private"], // IETF protocol assignments (RFC 2928)
  ["2001::", 32, "teredo"], // RFC 4380
  ["2001:1::1", 128, "public"], // Port Control Protocol anycast (RFC 7723)
  ["2001:1::2", 128, "public"], // TURN anycast (RFC 8155)
  ["2001:1::3", 128, "public"], // DNS-SD service registration anycast (RFC 9665)
  ["2001:2::", 48, "private"], // benchmarking (RFC 5180)
  ["2001:3::", 32, "public"], // AMT (RFC 7450)
  ["2001:4:112::", 48, "public"], // AS112-v6 (RFC 7535)
  ["2001:10::", 28, "forbidden"], // deprecated ORCHID (RFC 4843)
  ["2001:20::", 28, "public"], // ORCHIDv2 (RFC 7343)
  ["2001:30::", 28, "public"], // drone remote ID entity tags (RFC 9374)
  ["2001:db8::", 32, "forbidden"], // documentation (RFC 3849)
  ["2002::", 16, "6to4"], // RFC 3056
  ["2620:4f:8000::", 48, "public"], // AS112 direct delegation (RFC 7534)
  ["3fff::", 20, "forbidden"], // documentation (RFC 9637)
  ["5f00::", 16, "private"], // SRv6 SIDs (RFC 9602)
  ["fc00::", 7, "private"], // unique-local (RFC 4193)
  ["fd00:ec2::254", 128, "forbidden"], // AWS instance metadata
  ["fe80::", 10, "forbidden"], // link-local
  ["fec0::", 10, "forbidden"], // site-local (deprecated, RFC 3879)
  ["ff00::", 8, "forbidden"], // multicast
];
const v6Table = V6_RULES.map(([net, bits, rule]) => ({ net: ipaddr.IPv6.parse(net), bits, rule })).sort(
  (a, b) => b.bits - a.bits,
);

const v4At = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
const SEVERITY: Record<AddressClass, number> = { public: 0, private: 1, forbidden: 2 };
const worst = (...c: AddressClass[]) => c.reduce((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a));

function v6Rule(addr: ipaddr.IPv6): V6Rule {
  return v6Table.find((r) => addr.match(r.net, r.bits))!.rule;
}

/** The IPv4 address an IPv6 address stands for (mapped, compatible, SIIT, NAT64, 6to4), if any. */
function embeddedIPv4(ip: string): string | undefined {
  const addr = ipaddr.IPv6.parse(ip);
  const p = addr.parts as [number, number, number, number, number, number, number, number];
  const rule = v6Rule(addr);
  if (rule === "embedded") return v4At(p[6], p[7]);
  if (rule === "6to4") return v4At(p[1], p[2]);
  return undefined;
}

function classifyIPv6(ip: string): AddressClass {
  const addr = ipaddr.IPv6.parse(ip);
  const p = addr.parts as [number, number, number, number, number, number, number, number];
  const rule = v6Rule(addr);
  switch (rule) {
    case "embedded":
      return classifyIPv4(v4At(p[6], p[7]));
    case "6to4":
      return classifyIPv4(v4At(p[1], p[2]));
    // Teredo carries the server's IPv4 and the client's (bit-inverted) public IPv4.
    case "teredo":
      return worst("private", classifyIPv4(v4At(p[2], p[3])), classifyIPv4(v4At(p[6] ^ 0xffff, p[7] ^ 0xffff)));
    // The operator picks the prefix length inside the /48, so where the IPv4 sits is unknown;
    // the /96 layout is the common one, and a forbidden address there is refused outright.
    case "nat64-local":
      return worst("private", classifyIPv4(v4At(p[6], p[7])));
    default:
      return rule;
  }
}

export function classifyAddress(ip: string): AddressClass {
  const raw = ip.replace(/^\[|\]$/g, "");
  const family = isIP(raw);
  if (family === 0) return "forbidden";
  return family === 6 ? classifyIPv6(raw) : classifyIPv4(raw);
}

/** The parsed TOLLGATE_ALLOWED_PROVIDER_HOSTS: host names, and IPs/CIDRs. */
export interface AllowList {
  names: Set<string>;
  nets: BlockList;
}

const normHost = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");

export function parseAllowList(entries: readonly string[]): AllowList {
  const names = new Set<string>();
  const nets = new BlockList();
  for (const entry of entries) {
    const e = normHost(entry);
    if (!e) continue;
    const [addr, bits] = e.split("/") as [string, string | undefined];
    const fam = isIP(addr);
    if (fam && bits !== undefined && /^\d+$/.test(bits))
      nets.addSubnet(addr, Number(bits), fam === 4 ? "ipv4" : "ipv6");
    else if (fam) nets.addAddress(addr, fam === 4 ? "ipv4" : "ipv6");
    else names.add(e);
  }
  return { names, nets };
}

function allowedByNets(allow: AllowList, ip: string): boolean {
  const raw = ip.replace(/^\[|\]$/g, "").split("%")[0]!;
  const v4 = isIP(raw) === 6 ? embeddedIPv4(raw) : undefined;
  if (v4) return allow.nets.check(v4, "ipv4");
  return allow.nets.check(raw, isIP(raw) === 4 ? "ipv4" : "ipv6");
}

/** Whether `ip`, reached under the name `host`, may be connected to. */
export function addressAllowed(ip: string, host: string, allow: AllowList): boolean {
  const cls = classifyAddress(ip);
  if (cls === "forbidden") return false;
  if (cls === "public") return true;
  return allow.names.has(normHost(host)) || allowedByNets(allow, ip);
}

const LOCAL_NAMES = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$|\.localhost$/;
const METADATA_NAMES = /^(metadata|metadata\.google\.internal|instance-data|instance-data\.ec2\.internal)$/;

export type BaseUrlCheck =
  | { ok: true; url: URL }
  | {
      ok: false;
      code: "invalid_url" | "unsupported_scheme" | "credentials_in_url" | "forbidden_address" | "private_address";
      message: string;
    };

/** Save-time check of a provider base URL (the connect-time guard re-checks resolved addresses). */
export function validateBaseUrl(input: string, allowedHosts: readonly string[] | AllowList): BaseUrlCheck {
  const allow = Array.isArray(allowedHosts) ? parseAllowList(allowedHosts) : (allowedHosts as AllowList);
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return { ok: false, code: "invalid_url", message: "The base URL is not a valid URL." };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, code: "unsupported_scheme", message: "The base URL must use https (or http)." };
  }
  if (url.username || url.password) {
    return { ok: false, code: "credentials_in_url", message: "Put credentials in the API key field, not in the URL." };
  }
  const host = normHost(url.hostname);
  if (!host) return { ok: false, code: "invalid_url", message: "The base URL has no host." };
  const privateMsg = {
    ok: false as const,
    code: "private_address" as const,
    message:
      "The base URL points to a private or loopback address; an operator must allow it in TOLLGATE_ALLOWED_PROVIDER_HOSTS.",
  };
  if (isIP(host)) {
    const cls = classifyAddress(host);
    if (cls === "forbidden")
      return {
        ok: false,
        code: "forbidden_address",
        message: "The base URL points to a link-local, metadata or reserved address.",
      };
    if (cls === "private" && !addressAllowed(host, host, allow)) return privateMsg;
    return { ok: true, url };
  }
  if (METADATA_NAMES.test(host))
    return { ok: false, code: "forbidden_address", message: "The base URL points to a metadata service." };
  if (
    LOCAL_NAMES.test(host) &&
    !allow.names.has(host) &&
    !allowedByNets(allow, "127.0.0.1") &&
    !allowedByNets(allow, "::1")
  ) {
    return privateMsg;
  }
  return { ok: true, url };
}

export type LookupFn = (
  hostname: string,
  options: { all: true; family?: number },
  cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export class SsrfBlockedError extends Error {
  readonly code = "ERR_TOLLGATE_SSRF_BLOCKED";
  constructor(public readonly hostname: string) {
    super("connection refused by the SSRF guard: the address is not allowed");
    this.name = "SsrfBlockedError";
  }
}

/**
 * An undici Agent that validates every address at connect time: literal IPs
 * before connecting, names through a lookup that refuses the whole answer if
 * any address is not allowed. `lookup` is injectable for tests.
 */
export function createGuardedDispatcher(
  allowedHosts: readonly string[],
  options: { connectTimeoutMs?: number; lookup?: LookupFn; agent?: Omit<Agent.Options, "connect"> } = {},
): Agent {
  const allow = parseAllowList(allowedHosts);
  const resolve: LookupFn = options.lookup ?? ((h, o, cb) => dnsLookup(h, o, cb));
  const guardedLookup = (
    hostname: string,
    opts: { all?: boolean; family?: number },
    cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    resolve(hostname, { all: true, ...(opts.family ? { family: opts.family } : {}) }, (err, addresses) => {
      if (err) return cb(err, []);
      if (!addresses.length || addresses.some((a) => !addressAllowed(a.address, hostname, allow))) {
        return cb(new SsrfBlockedError(hostname) as unknown as NodeJS.ErrnoException, []);
      }
      if (opts.all) return cb(null, addresses);
      cb(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  const base = buildConnector({
    timeout: options.connectTimeoutMs ?? 10_000,
    lookup: guardedLookup,
  } as buildConnector.BuildOptions);
  const connect: buildConnector.connector = (opts, cb) => {
    const host = normHost(opts.hostname);
    if (isIP(host) && !addressAllowed(host, host, allow)) {
      cb(new SsrfBlockedError(host), null);
      return;
    }
    base(opts, cb);
  };
  return new Agent({ ...options.agent, connect });
}
