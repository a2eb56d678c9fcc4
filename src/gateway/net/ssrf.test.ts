import http from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addressAllowed,
  classifyAddress,
  createGuardedDispatcher,
  parseAllowList,
  validateBaseUrl,
  type LookupFn,
} from "./ssrf.js";

describe("classifyAddress", () => {
  it.each([
    ["169.254.169.254", "forbidden"],
    ["169.254.0.1", "forbidden"],
    ["0.0.0.0", "forbidden"],
    ["100.100.100.200", "forbidden"],
    ["fe80::1", "forbidden"],
    ["fd00:ec2::254", "forbidden"],
    ["::", "forbidden"],
    ["ff02::1", "forbidden"],
    ["224.0.0.1", "forbidden"],
    ["::ffff:169.254.169.254", "forbidden"],
    ["::ffff:a9fe:a9fe", "forbidden"],
    ["127.0.0.1", "private"],
    ["127.8.9.10", "private"],
    ["::1", "private"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["::ffff:127.0.0.1", "private"],
    ["::ffff:7f00:1", "private"],
    ["64:ff9b::7f00:1", "private"],
    ["2002:7f00:1::", "private"],
    ["8.8.8.8", "public"],
    ["172.32.0.1", "public"],
    ["2606:4700::1111", "public"],
    ["::ffff:8.8.8.8", "public"],
  ])("%s → %s", (ip, cls) => expect(classifyAddress(ip)).toBe(cls));
});

describe("validateBaseUrl (save time)", () => {
  it.each([
    ["http://169.254.169.254/latest/meta-data", "forbidden_address"],
    ["http://[fe80::1]/", "forbidden_address"],
    ["http://[fd00:ec2::254]/", "forbidden_address"],
    ["http://[::ffff:169.254.169.254]/", "forbidden_address"],
    ["http://metadata.google.internal/computeMetadata/v1", "forbidden_address"],
    ["http://2130706433/", "private_address"],
    ["http://0x7f.1/", "private_address"],
    ["http://0177.0.0.1/", "private_address"],
    ["http://[::ffff:127.0.0.1]:8000/", "private_address"],
    ["http://127.1/", "private_address"],
    ["http://10.0.0.5/v1", "private_address"],
    ["http://172.16.3.4/v1", "private_address"],
    ["http://192.168.1.20:11434/v1", "private_address"],
    ["http://100.64.1.1/", "private_address"],
    ["http://[fd12::1]/", "private_address"],
    ["http://localhost:11434/v1", "private_address"],
    ["http://api.localhost/", "private_address"],
    ["http://user:pass@api.example.com/", "credentials_in_url"],
    ["ftp://api.example.com/", "unsupported_scheme"],
    ["file:///etc/passwd", "unsupported_scheme"],
    ["not a url", "invalid_url"],
  ])("%s → %s", (url, code) => expect(validateBaseUrl(url, [])).toMatchObject({ ok: false, code }));

  it("accepts public hosts", () => {
    expect(validateBaseUrl("https://api.openai.com/v1", [])).toMatchObject({ ok: true });
    expect(validateBaseUrl("https://8.8.8.8/v1", [])).toMatchObject({ ok: true });
  });

  it("allowlist opens private hosts by name, IP or CIDR — never metadata", () => {
    const allow = ["localhost", "10.0.0.5", "192.168.1.0/24", "ollama.lan", "169.254.169.254"];
    expect(validateBaseUrl("http://localhost:11434/v1", allow)).toMatchObject({ ok: true });
    expect(validateBaseUrl("http://10.0.0.5:8000/v1", allow)).toMatchObject({ ok: true });
    expect(validateBaseUrl("http://10.0.0.6:8000/v1", allow)).toMatchObject({ ok: false, code: "private_address" });
    expect(validateBaseUrl("http://192.168.1.77/v1", allow)).toMatchObject({ ok: true });
    expect(validateBaseUrl("http://192.168.2.77/v1", allow)).toMatchObject({ ok: false });
    expect(validateBaseUrl("http://ollama.lan:11434/v1", allow)).toMatchObject({ ok: true });
    expect(validateBaseUrl("http://169.254.169.254/", allow)).toMatchObject({ ok: false, code: "forbidden_address" });
    expect(validateBaseUrl("http://[::ffff:10.0.0.5]/", allow)).toMatchObject({ ok: true });
  });

  it("connect-time rule: a private address is allowed only through the name or network it was allowed under", () => {
    const allow = parseAllowList(["ollama.lan", "10.0.0.0/8"]);
    expect(addressAllowed("192.168.1.5", "ollama.lan", allow)).toBe(true);
    expect(addressAllowed("192.168.1.5", "evil.example", allow)).toBe(false);
    expect(addressAllowed("10.9.9.9", "evil.example", allow)).toBe(true);
    expect(addressAllowed("169.254.169.254", "ollama.lan", allow)).toBe(false);
  });
});

describe("createGuardedDispatcher (connect time)", () => {
  let server: http.Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      hits++;
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const stub =
    (answers: Record<string, string[]>): LookupFn =>
    (host, _o, cb) => {
      const a = answers[host];
      if (!a) return cb(Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" }), []);
      cb(
        null,
        a.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
      );
    };
  const get = async (url: string, allow: string[], lookup?: LookupFn) => {
    const d = createGuardedDispatcher(allow, { lookup, connectTimeoutMs: 2000 });
    try {
      const r = await request(url, { dispatcher: d });
      await r.body.text();
      return r.statusCode;
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    } finally {
      await d.close();
    }
  };

  it("a DNS name that resolves to loopback is refused (rebinding); allowed by name it works", async () => {
    const before = hits;
    const lookup = stub({ "rebind.example": ["127.0.0.1"] });
    expect(await get(`http://rebind.example:${port}/`, [], lookup)).toBe("ERR_TOLLGATE_SSRF_BLOCKED");
    expect(hits).toBe(before);
    expect(await get(`http://rebind.example:${port}/`, ["rebind.example"], lookup)).toBe(200);
  });

  it("any disallowed address in the answer refuses the connection", async () => {
    const lookup = stub({ "mixed.example": ["127.0.0.1", "169.254.169.254"] });
    expect(await get(`http://mixed.example:${port}/`, ["mixed.example"], lookup)).toBe("ERR_TOLLGATE_SSRF_BLOCKED");
  });

  it("literal IPs are checked before connecting; CIDR allowlist opens them", async () => {
    expect(await get(`http://127.0.0.1:${port}/`, [])).toBe("ERR_TOLLGATE_SSRF_BLOCKED");
    expect(await get(`http://[::ffff:127.0.0.1]:${port}/`, [])).toBe("ERR_TOLLGATE_SSRF_BLOCKED");
    expect(await get(`http://2130706433:${port}/`, [])).toBe("ERR_TOLLGATE_SSRF_BLOCKED");
    expect(await get(`http://127.0.0.1:${port}/`, ["127.0.0.0/8"])).toBe(200);
  });

  it("real resolver: localhost is refused unless allowed", async () => {
    expect(await get(`http://localhost:${port}/`, [])).toBe("ERR_TOLLGATE_SSRF_BLOCKED");
    const lookup = stub({ localhost: ["127.0.0.1"] });
    expect(await get(`http://localhost:${port}/`, ["localhost"], lookup)).toBe(200);
  });
});
