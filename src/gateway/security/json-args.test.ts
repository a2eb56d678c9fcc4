import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors.js";
import { effectivePolicy, orgPolicySchema, type OrgPolicyInput } from "./policy.js";
import { createPolicyScanner } from "./scanner.js";

const scanner = (p: OrgPolicyInput) => createPolicyScanner(effectivePolicy(orgPolicySchema.parse(p)));
const key = `sk-ant-api03-${"Qw9".repeat(30)}Zz12`;

type Out = ReturnType<ReturnType<typeof scanner>["outputScanner"]>;

/** Feeds pieces as one tool call's fragments (choice 0, call 0) and returns what the client would receive. */
function stream(out: Out, pieces: string[], tool = 0): string {
  let sent = "";
  for (const p of pieces) sent += out.pushArgs(p, 0, tool);
  return sent + out.endArgs(0, tool);
}

/** Splits text into pieces at pseudo-random points. */
function split(text: string, n: number, seed: number): string[] {
  const cuts = new Set<number>();
  let x = seed;
  while (cuts.size < Math.min(n - 1, text.length - 1)) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 1;
    cuts.add(1 + (x % (text.length - 1)));
  }
  const at = [0, ...[...cuts].sort((a, b) => a - b), text.length];
  return at.slice(1).map((end, i) => text.slice(at[i], end));
}

describe("tool-call arguments (JSON-aware output scanning)", () => {
  const policy = { pii: { email: "redact", card: "redact", secret: "redact", phone: "mask" } } as const;

  it("redacts inside string values and keeps the JSON valid, escapes included", () => {
    const args = JSON.stringify({
      to: "ann@example.com",
      body: 'line one\nmail\tbob@example.org "quoted" \\ done',
      n: 3,
      ok: true,
      x: null,
    });
    const out = stream(scanner(policy).outputScanner(), [args]);
    expect(JSON.parse(out)).toEqual({
      to: "[EMAIL_1]",
      body: 'line one\nmail\t[EMAIL_2] "quoted" \\ done',
      n: 3,
      ok: true,
      x: null,
    });
  });

  it("an escape right before a value never swallows into it (\\n before an email)", () => {
    const args = '{"body":"hi\\njane@example.com"}';
    const out = stream(scanner(policy).outputScanner(), [args]);
    expect(out).toBe('{"body":"hi\\n[EMAIL_1]"}');
  });

  it("finds values hidden behind \\u escapes", () => {
    const args = '{"to":"jane\\u0040example.com"}';
    const s = scanner({ pii: { email: "mask" } }).outputScanner();
    const out = stream(s, [args]);
    expect(JSON.parse(out)).toEqual({ to: "j***@example.com" });
    expect(s.findings).toMatchObject([
      { type: "email", action: "mask", location: "output", excerpt: "j***@example.com" },
    ]);
  });

  it("a number that is a card becomes a string placeholder; untouched numbers stay numbers", () => {
    const out = stream(scanner(policy).outputScanner(), ['{"card":4111111111111111,"qty":2,"price":-1.5e3}']);
    expect(JSON.parse(out)).toEqual({ card: "[CARD_1]", qty: 2, price: -1500 });
  });

  it("a mask that produces quotes or backslashes is escaped", () => {
    const s = scanner({
      rules: [{ name: "q", type: "regex", pattern: '"[a-z]+\\\\', action: "mask" }],
    }).outputScanner();
    const out = stream(s, [JSON.stringify({ v: 'say "hello\\ there' })]);
    expect(JSON.parse(out)).toEqual({ v: 'say "*****\\ there' });
  });

  it("keys are scanned too, and a label in the key counts for label-only secrets", () => {
    const aws = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const s = scanner(policy).outputScanner();
    const out = stream(s, [JSON.stringify({ "me@example.com": 1, aws_secret_access_key: aws })]);
    expect(JSON.parse(out)).toEqual({ "[EMAIL_1]": 1, aws_secret_access_key: "[SECRET_1]" });
    expect(s.findings.map((f) => f.subtype ?? f.type)).toEqual(["email", "aws_secret_access_key"]);
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`streamed in pieces (seed ${seed}): same result as whole, valid JSON, values split across fragments caught`, () => {
      const args = JSON.stringify({
        note: `é "q" \\ ${"filler ".repeat(5)}mail jane.doe@example.com now`,
        key,
        nested: [{ phone: "+1 415 555 2671" }, 4111111111111111],
        emoji: "😀 ok",
      });
      const whole = stream(scanner(policy).outputScanner(), [args]);
      for (const n of [2, 3, 7, 25]) {
        const s = scanner(policy).outputScanner();
        const out = stream(s, split(args, n, seed));
        expect(out).toBe(whole);
        expect(JSON.parse(out)).toEqual({
          note: `é "q" \\ ${"filler ".repeat(5)}mail [EMAIL_1] now`,
          key: "[SECRET_1]",
          nested: [{ phone: "+* *** *** **71" }, "[CARD_1]"],
          emoji: "😀 ok",
        });
        expect(s.findings.map((f) => f.type).sort()).toEqual(["card", "email", "phone", "secret"]);
      }
    });
  }

  it("character by character, escapes and surrogate pairs split in half, still valid JSON", () => {
    const args = '{"a":"\\u00e9\\u0040 😀 \\"x\\" to bo@example.net","b":[1,2]}';
    const out = stream(scanner(policy).outputScanner(), [...args.split("")]);
    expect(JSON.parse(out)).toEqual({ a: 'é@ 😀 "x" to [EMAIL_1]', b: [1, 2] });
  });

  it("blocks a secret split across fragments without releasing any part of it", () => {
    const s = scanner({ pii: { secret: "block" } }).outputScanner();
    const args = JSON.stringify({ token: key, other: "x" });
    let sent = "";
    const run = () => {
      for (const p of [args.slice(0, 15), args.slice(15, 40), args.slice(40)]) sent += s.pushArgs(p, 0, 0);
      sent += s.endArgs(0, 0);
    };
    expect(run).toThrow(GatewayError);
    expect(run).toThrow(/Blocked by policy: secret/);
    expect(sent).not.toContain(key.slice(0, 10));
    expect(() => s.push("more text", 0)).toThrow(/Blocked by policy: secret/);
  });

  it("calls and choices are kept apart; numbering is shared with the text", () => {
    const s = scanner(policy).outputScanner();
    const text = s.push("writing to ann@example.com", 0) + s.end(0);
    let a = s.pushArgs('{"to":"ann@exa', 0, 0);
    let b = s.pushArgs('{"to":"cy@exa', 0, 1);
    a += s.pushArgs('mple.com"}', 0, 0) + s.endArgs(0, 0);
    b += s.pushArgs('mple.com"}', 0, 1) + s.endArgs(0, 1);
    expect([text, a, b]).toEqual(["writing to [EMAIL_1]", '{"to":"[EMAIL_1]"}', '{"to":"[EMAIL_2]"}']);
  });

  it("reversible redaction restores placeholders in arguments, JSON-escaped", () => {
    const s = scanner({
      pii: { email: "redact" },
      rules: [{ name: "n", type: "keyword", pattern: 'O"Brien', action: "redact" }],
      restoreRedactions: true,
    });
    const r = s.scanRequest({
      model: "m",
      messages: [{ role: "user", content: 'Email jane@example.com about O"Brien' }],
    });
    expect(r.request.messages[0]!.content).toBe("Email [EMAIL_1] about [REDACTED_1]");
    const out = stream(s.outputScanner(r.restoreMap), [
      '{"to":"[EMA',
      'IL_1]","subject":"[REDACTED_1]","cc":"[EMAIL_7]"}',
    ]);
    expect(JSON.parse(out)).toEqual({ to: "jane@example.com", subject: 'O"Brien', cc: "[EMAIL_7]" });
  });

  it("not JSON: nothing leaks, nothing is invented", () => {
    const out = stream(scanner(policy).outputScanner(), ["send to ann@example.com"]);
    expect(out).toBe('send to "[EMAIL_1]"');
    const cut = stream(scanner(policy).outputScanner(), ['{"to":"ann@example.com']);
    expect(cut).toBe('{"to":"[EMAIL_1]');
  });

  it("fuzz: random documents with quotes, backslashes, control and non-ASCII characters stay valid JSON", () => {
    let x = 7;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 1;
      return x % n;
    };
    const bits = [
      '"',
      "\\",
      "\n",
      "\t",
      "\u2028",
      "é",
      "😀",
      " ",
      "a",
      "/",
      "user@example.com",
      "4111 1111 1111 1111",
      "[",
      "}",
      ":",
      ",",
    ];
    const str = () => Array.from({ length: 1 + rnd(8) }, () => bits[rnd(bits.length)]).join("");
    const value = (depth: number): unknown => {
      const k = rnd(depth > 2 ? 3 : 5);
      if (k === 0) return str();
      if (k === 1) return rnd(2) ? rnd(1000) - 500 : null;
      if (k === 2) return true;
      if (k === 3) return Array.from({ length: rnd(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rnd(4) }, () => [str(), value(depth + 1)]));
    };
    const asciiOnly = (json: string) =>
      // biome-ignore lint/suspicious/noControlCharactersInRegex: \x00 only opens the ASCII range below DEL; the regex matches every character outside it, to be rewritten as a \u escape
      json.replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    for (let i = 0; i < 150; i++) {
      const doc = { v: value(0) };
      const text = i % 2 ? asciiOnly(JSON.stringify(doc, null, i % 3 ? 0 : 2)) : JSON.stringify(doc);
      const out = stream(scanner(policy).outputScanner(), split(text, 1 + rnd(12), i + 1));
      const parsed = JSON.parse(out);
      expect(JSON.stringify(parsed)).not.toMatch(/user@example\.com|4111 1111/);
      // Only the matched values changed: with them replaced in the original, the documents are equal.
      const norm = (t: string) =>
        t.replace(/\[(EMAIL|CARD)_\d+\]/g, "X").replace(/user@example\.com|4111 1111 1111 1111/g, "X");
      expect(norm(JSON.stringify(parsed))).toBe(norm(JSON.stringify(doc)));
    }
  });

  it("log only: arguments unchanged, finding recorded", () => {
    const s = scanner({ pii: { email: "log" } }).outputScanner();
    const args = '{ "to" : "ann@example.com" }';
    expect(stream(s, [args])).toBe(args);
    expect(s.findings).toMatchObject([{ type: "email", action: "log", excerpt: "a***@example.com" }]);
  });

  it("input side: the arguments of an earlier assistant tool call are redacted as JSON too", () => {
    const s = scanner({ pii: { email: "redact", card: "block" } });
    const args = '{"body":"hi\\njane@example.com","to":"jane@example.com"}';
    const r = s.scanRequest({
      model: "m",
      messages: [
        { role: "user", content: "mail jane@example.com" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "send", arguments: args } }],
        },
      ],
    });
    const sent = (r.request.messages[1] as { tool_calls: Array<{ function: { arguments: string } }> }).tool_calls[0]!
      .function.arguments;
    expect(JSON.parse(sent)).toEqual({ body: "hi\n[EMAIL_1]", to: "[EMAIL_1]" });
    const blocked = s.scanRequest({
      model: "m",
      messages: [
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "pay", arguments: '{"card":4111111111111111}' } },
          ],
        },
      ],
    });
    expect(blocked.blocked).toMatchObject({ type: "card", action: "block", location: "input" });
  });

  it("with nothing enabled, fragments pass through as they are", () => {
    const s = scanner({}).outputScanner();
    expect(s.pushArgs('{"a":"b@c.de', 0, 0)).toBe('{"a":"b@c.de');
    expect(s.endArgs(0, 0)).toBe("");
  });
});
