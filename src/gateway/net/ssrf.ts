/**
 * SSRF guard for provider base URLs, applied twice: at save time on the URL
 * (`validateBaseUrl`) and at connect time on every resolved address
 * (`createGuardedDispatcher`), which defeats DNS rebinding and names that
 * point inside the network. Invariants:
 * - Link-local, cloud metadata, unspecified, multicast and reserved addresses
 *   are refused always; no allowlist entry can open them.
 * - Loopback, RFC1918, CGNAT, unique-local (and IPv4 embedded in IPv6 as
 *   mapped/compat/NAT64/6to4) are refused unless the host name or an IP/CIDR
 *   entry of TOLLGATE_ALLOWED_PROVIDER_HOSTS allows them.
 * - If any resolved address of a name is refused, the connection is refused.
 * - Numeric IPv4 forms (decimal, octal, hex, short) are normalised by the
 *   WHATWG URL parser before we look at them; brackets are stripped for IPv6.
 */
import { BlockList, isIP } from "node:net";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { Agent, buildConnector } from "undici";

export type AddressClass = "public" | "private" | "forbidden";

const forbidden = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], ["169.254.0.0", 16], ["100.100.100.200", 32], ["192.0.0.192", 32],
  ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) forbidden.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128], ["fe80::", 10], ["fec0::", 10], ["ff00::", 8], ["fd00:ec2::254", 128], ["100::", 64],
] as const) forbidden.addSubnet(net, prefix, "ipv6");

const privateNets = new BlockList();
for (const [net, prefix] of [
  ["127.0.0.0", 8], ["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16], ["100.64.0.0", 10],
  ["192.0.0.0", 24], ["198.18.0.0", 15],
] as const) privateNets.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [["::1", 128], ["fc00::", 7], ["2001::", 32]] as const) privateNets.addSubnet(net, prefix, "ipv6");

/** Parses an IPv6 literal into 8 16-bit groups (handles `::` and a dotted IPv4 tail). */
function ipv6Groups(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const pct = s.indexOf("%");
  if (pct >= 0) s = s.slice(0, pct);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const o = dotted[1]!.split(".").map(Number);
    s = s.slice(0, -dotted[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = s.includes("::") ? 8 - h.length - t.length : 0;
  const groups = [...h, ...Array<string>(Math.max(0, fill)).fill("0"), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** IPv4 embedded in an IPv6 address (mapped, compatible, NAT64, 6to4), if any. */
function embeddedIPv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (!g) return undefined;
  const v4 = (a: number, b: number) => `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(5) && g[5] === 0xffff) return v4(g[6]!, g[7]!); // ::ffff:a.b.c.d
  if (zeros(6) && (g[6]! !== 0 || g[7]! > 1)) return v4(g[6]!, g[7]!); // ::a.b.c.d (deprecated compat)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(g[6]!, g[7]!); // NAT64
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!); // 6to4
  return undefined;
}

export function classifyAddress(ip: string): AddressClass {
  const raw = ip.replace(/^\[|\]$/g, "");
  const family = isIP(raw);
  if (family === 0) return "forbidden";
  if (family === 6) {
    const v4 = embeddedIPv4(raw);
    if (v4) return classifyAddress(v4);
    const plain = raw.split("%")[0]!;
    if (forbidden.check(plain, "ipv6")) return "forbidden";
    return privateNets.check(plain, "ipv6") ? "private" : "public";
  }
  if (forbidden.check(raw, "ipv4")) return "forbidden";
  return privateNets.check(raw, "ipv4") ? "private" : "public";
}

/** The parsed TOLLGATE_ALLOWED_PROVIDER_HOSTS: host names, and IPs/CIDRs. */
export interface AllowList {
  names: Set<string>;
  nets: BlockList;
}

const normHost = (h: string) => h.trim().toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");

export function parseAllowList(entries: readonly string[]): AllowList {
  const names = new Set<string>();
  const nets = new BlockList();
  for (const entry of entries) {
    const e = normHost(entry);
    if (!e) continue;
    const [addr, bits] = e.split("/") as [string, string | undefined];
    const fam = isIP(addr);
    if (fam && bits !== undefined && /^\d+$/.test(bits)) nets.addSubnet(addr, Number(bits), fam === 4 ? "ipv4" : "ipv6");
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
  | { ok: false; code: "invalid_url" | "unsupported_scheme" | "credentials_in_url" | "forbidden_address" | "private_address"; message: string };

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
    message: "The base URL points to a private or loopback address; an operator must allow it in TOLLGATE_ALLOWED_PROVIDER_HOSTS.",
  };
  if (isIP(host)) {
    const cls = classifyAddress(host);
    if (cls === "forbidden") return { ok: false, code: "forbidden_address", message: "The base URL points to a link-local, metadata or reserved address." };
    if (cls === "private" && !addressAllowed(host, host, allow)) return privateMsg;
    return { ok: true, url };
  }
  if (METADATA_NAMES.test(host)) return { ok: false, code: "forbidden_address", message: "The base URL points to a metadata service." };
  if (LOCAL_NAMES.test(host) && !allow.names.has(host) && !allowedByNets(allow, "127.0.0.1") && !allowedByNets(allow, "::1")) {
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
  const base = buildConnector({ timeout: options.connectTimeoutMs ?? 10_000, lookup: guardedLookup } as buildConnector.BuildOptions);
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
