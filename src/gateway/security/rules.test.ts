import { describe, expect, it } from "vitest";
import { createPolicyScanner } from "./scanner.js";
import { effectivePolicy, orgPolicySchema } from "./policy.js";
import { checkRulePattern, ruleDetector, type ContentRule } from "./rules.js";

const rule = (r: Partial<ContentRule>): ContentRule => ({
  name: "r",
  type: "keyword",
  pattern: "x",
  action: "log",
  ...r,
});
const hits = (r: ContentRule, text: string) =>
  ruleDetector(r)
    .scan(text)
    .map((m) => text.slice(m.start, m.end));

describe("keyword rules", () => {
  it("ignore case and respect word boundaries by default", () => {
    expect(hits(rule({ pattern: "falcon" }), "Project FALCON and falconry")).toEqual(["FALCON"]);
    expect(hits(rule({ pattern: "falcon", wholeWord: false }), "falconry")).toEqual(["falcon"]);
    expect(hits(rule({ pattern: "Falcon", caseSensitive: true }), "falcon Falcon")).toEqual(["Falcon"]);
  });
  it("are data: template, interpolation and require() strings match literally and nothing runs", () => {
    const g = globalThis as { __pwned?: boolean };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the payloads are template-injection strings; the test proves they stay literal
    const payloads = ["{{7*7}}", "${process.exit()}", "require('fs')", "${globalThis.__pwned = true}", "(a+)+$"];
    for (const p of payloads) {
      const r = rule({ name: "p", pattern: p });
      expect(hits(r, `before ${p} after`)).toEqual([p]);
      expect(hits(r, "49 and nothing else")).toEqual([]);
    }
    expect(g.__pwned).toBeUndefined();
    // Stored through the schema they stay byte-for-byte the same.
    const parsed = orgPolicySchema.parse({
      rules: payloads.map((p, i) => ({ name: `p${i}`, type: "keyword", pattern: p, action: "block" })),
    });
    expect(parsed.rules.map((r) => r.pattern)).toEqual(payloads);
  });
  it("match every printable ASCII punctuation character literally (a hyphenated name must not break the policy)", () => {
    const punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    for (const ch of punctuation) {
      const pattern = `project${ch}bluebird`;
      expect(hits(rule({ pattern }), `see ${pattern} now`), pattern).toEqual([pattern]);
      expect(hits(rule({ pattern }), "see project bluebird now"), pattern).toEqual(ch === " " ? [pattern] : []);
    }
  });
});

describe("regex rules (RE2, linear time)", () => {
  it("match with RE2 syntax", () => {
    expect(hits(rule({ type: "regex", pattern: "TCK-[0-9]{3,6}" }), "see tck-1234 and TCK-99")).toEqual(["tck-1234"]);
  });
  it("(a+)+$ against 'aaaa…!' finishes quickly", () => {
    const r = rule({ type: "regex", pattern: "(a+)+$" });
    expect(checkRulePattern("regex", r.pattern)).toBeNull();
    const text = `${"a".repeat(20_000)}!`;
    const t0 = performance.now();
    expect(hits(r, text)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
  it.each([
    ["(a)\\1", "backreference"],
    ["(?<=a)b", "lookbehind"],
    ["((a{100}){100}){100}", "huge repeat"],
    ["[", "syntax error"],
    ["x*", "empty match"],
  ])("refuses %s (%s) at save time", (pattern) => {
    expect(checkRulePattern("regex", pattern)).not.toBeNull();
    expect(() => ruleDetector(rule({ type: "regex", pattern }))).toThrow();
  });
  it("a regex rule blocks through the scanner", () => {
    const s = createPolicyScanner(
      effectivePolicy(
        orgPolicySchema.parse({
          rules: [{ name: "tickets", type: "regex", pattern: "TCK-[0-9]+", action: "block", category: "internal" }],
        }),
      ),
    );
    const r = s.scanRequest({ model: "m", messages: [{ role: "user", content: "about TCK-4411" }] });
    expect(r.blocked).toMatchObject({
      category: "rule",
      type: "regex",
      ruleName: "tickets",
      ruleCategory: "internal",
      action: "block",
    });
    expect(r.blocked!.excerpt).not.toContain("TCK-4411");
  });
});
