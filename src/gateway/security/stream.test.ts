import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors.js";
import { effectivePolicy, orgPolicySchema, type OrgPolicyInput } from "./policy.js";
import { createPolicyScanner } from "./scanner.js";
import { WINDOW_MAX } from "./stream.js";

const scanner = (p: OrgPolicyInput) => createPolicyScanner(effectivePolicy(orgPolicySchema.parse(p)));
const key = `sk-ant-api03-${"Qw9".repeat(30)}Zz12`;
const jwt = [
  Buffer.from('{"alg":"RS256","typ":"JWT"}').toString("base64url"),
  Buffer.from(JSON.stringify({ sub: "user-1", scope: "x".repeat(300) })).toString("base64url"),
  "S1g".repeat(100),
].join(".");
const pem = `-----BEGIN PRIVATE KEY-----\n${"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".repeat(40)}\n-----END PRIVATE KEY-----`;

/** Splits text into n pieces at pseudo-random points. */
function split(text: string, n: number, seed: number): string[] {
  const cuts = new Set<number>();
  let x = seed;
  while (cuts.size < n - 1) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    cuts.add(1 + (x % (text.length - 1)));
  }
  const at = [0, ...[...cuts].sort((a, b) => a - b), text.length];
  return at.slice(1).map((end, i) => text.slice(at[i], end));
}

function run(scan: { push(t: string, c: number): string; end(c: number): string }, chunks: string[]): string {
  let out = "";
  for (const c of chunks) out += scan.push(c, 0);
  return out + scan.end(0);
}

describe("streaming output", () => {
  const text = `Contact jane.doe@example.com or use ${key} and the token ${jwt} then this key:\n${pem}\nThanks.`;
  for (const n of [2, 3, 4, 5]) {
    for (const seed of [1, 2, 3]) {
      it(`redacts values split across ${n} chunks (seed ${seed})`, () => {
        const s = scanner({ pii: { email: "redact", secret: "redact" } }).outputScanner();
        const out = run(s, split(text, n, seed));
        expect(out).toBe(
          "Contact [EMAIL_1] or use [SECRET_1] and the token [SECRET_2] then this key:\n[SECRET_3]\nThanks.",
        );
        expect(s.findings.map((f) => f.subtype ?? f.type)).toEqual(["email", "anthropic_key", "jwt", "private_key"]);
      });
      it(`blocks a secret split across ${n} chunks (seed ${seed})`, () => {
        const s = scanner({ pii: { secret: "block" } }).outputScanner();
        let sent = "";
        const t = () => {
          for (const c of split(`here: ${key} done`, n, seed)) sent += s.push(c, 0);
          sent += s.end(0);
        };
        expect(t).toThrow(GatewayError);
        expect(sent).not.toContain(key.slice(0, 12));
        expect(() => s.push("more", 0)).toThrow(/Blocked by policy: secret/);
      });
    }
  }
  it("char-by-char streaming still catches an email", () => {
    const s = scanner({ pii: { email: "mask" } }).outputScanner();
    expect(run(s, [..."write to someone@example.org today"])).toBe("write to s***@example.org today");
  });
  it("text without matches passes through, holding back at most the window, end() releases it", () => {
    const s = scanner({
      pii: { email: "redact", phone: "redact", secret: "redact" },
      rules: [{ name: "k", type: "keyword", pattern: "Falcon", action: "redact" }],
    }).outputScanner();
    const prose = "The quick brown fox jumps over the lazy dog. ".repeat(40);
    let sent = "";
    for (const c of split(prose, 30, 9)) {
      sent += s.push(c, 0);
      expect(prose.startsWith(sent)).toBe(true);
    }
    expect(prose.length - sent.length).toBeLessThanOrEqual(WINDOW_MAX);
    expect(sent + s.end(0)).toBe(prose);
    expect(s.findings).toEqual([]);
  });
  it("keeps choices apart", () => {
    const s = scanner({ pii: { email: "redact" } }).outputScanner();
    let a = s.push("mail a@exa", 0);
    let b = s.push("mail b@exa", 1);
    a += s.push("mple.com", 0) + s.end(0);
    b += s.push("mple.net", 1) + s.end(1);
    expect([a, b]).toEqual(["mail [EMAIL_1]", "mail [EMAIL_2]"]);
  });
  it("with nothing enabled it is a pass-through", () => {
    const s = scanner({}).outputScanner();
    expect(s.push("abc", 0)).toBe("abc");
    expect(s.end(0)).toBe("");
  });
});

describe("reversible redaction", () => {
  const policy = { pii: { email: "redact" as const, phone: "redact" as const }, restoreRedactions: true };
  it("restores placeholders in the answer, also when split across chunks", () => {
    const s = scanner(policy);
    const r = s.scanRequest({
      model: "m",
      messages: [{ role: "user", content: "Email jane@example.com and call +1 415 555 2671." }],
    });
    expect(r.request.messages[0]!.content).toBe("Email [EMAIL_1] and call [PHONE_1].");
    const out = s.outputScanner(r.restoreMap);
    expect(run(out, ["I wrote to [EMA", "IL_1] and will call [PHO", "NE_1", "]; [EMAIL_9] is unknown."])).toBe(
      "I wrote to jane@example.com and will call +1 415 555 2671; [EMAIL_9] is unknown.",
    );
  });
  it("new PII in the answer gets fresh numbers and is not restored", () => {
    const s = scanner(policy);
    const r = s.scanRequest({ model: "m", messages: [{ role: "user", content: "Email jane@example.com" }] });
    expect(run(s.outputScanner(r.restoreMap), ["[EMAIL_1] and bob@example.com"])).toBe(
      "jane@example.com and [EMAIL_2]",
    );
  });
  it("does not restore when the effective policy forbids it", () => {
    const s = createPolicyScanner(effectivePolicy(orgPolicySchema.parse(policy), { restoreRedactions: false }));
    const r = s.scanRequest({ model: "m", messages: [{ role: "user", content: "Email jane@example.com" }] });
    expect(run(s.outputScanner(r.restoreMap), ["Sent to [EMAIL_1]."])).toBe("Sent to [EMAIL_1].");
  });
});
