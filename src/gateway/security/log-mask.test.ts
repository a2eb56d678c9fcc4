import { describe, expect, it } from "vitest";
import type { ChatRequest } from "../types.js";
import { mapJsonStrings, secretsLogMasker } from "./log-mask.js";
import { effectivePolicy, orgPolicySchema, type OrgPolicyInput } from "./policy.js";
import { createPolicyScanner } from "./scanner.js";

const scanner = (p: OrgPolicyInput) => createPolicyScanner(effectivePolicy(orgPolicySchema.parse(p)));
const key = `sk-ant-api03-${"Qw7e".repeat(12)}f3a9`;

describe("mapJsonStrings", () => {
  it("returns the value itself when nothing changes, else copies only the changed path (keys included)", () => {
    const body = { a: { b: ["x", "secret"], c: { d: "y" } }, secret: 1 };
    expect(mapJsonStrings(body, (s) => s)).toBe(body);
    const out = mapJsonStrings(body, (s) => (s === "secret" ? "***" : s)) as typeof body & Record<string, unknown>;
    expect(out).toEqual({ a: { b: ["x", "***"], c: { d: "y" } }, "***": 1 });
    expect(out.a.c).toBe(body.a.c);
    expect(body.a.b[1]).toBe("secret");
  });

  it("walks any depth without recursion", () => {
    let deep: unknown = "secret";
    for (let i = 0; i < 20_000; i++) deep = [deep];
    let out = mapJsonStrings(deep, (s) => s.toUpperCase());
    for (let i = 0; i < 20_000; i++) out = (out as unknown[])[0];
    expect(out).toBe("SECRET");
  });
});

describe("log renderings from the input scan", () => {
  const req = (content: string, args?: string): ChatRequest => ({
    model: "m",
    messages: [
      { role: "user", content },
      ...(args
        ? [
            {
              role: "assistant" as const,
              content: null,
              tool_calls: [{ id: "c", type: "function" as const, function: { name: "f", arguments: args } }],
            },
          ]
        : []),
    ],
  });

  it("masks a secret the policy lets through, even where a rule it only logs overlaps it", () => {
    const s = scanner({
      pii: { email: "redact" },
      rules: [{ name: "ant", type: "regex", pattern: "sk-ant-[a-z0-9]+", action: "log" }],
    });
    const logged = new Map<string, string>();
    const text = `key ${key} for ann@example.com`;
    const r = s.scanRequest(req(text), logged);
    expect(r.request.messages[0]!.content).toBe(`key ${key} for [EMAIL_1]`);
    expect(logged.get(text)).toBe("key sk-ant-…f3a9 for [EMAIL_1]");
  });

  it("renders tool-call arguments JSON-aware, with the provider's placeholders", () => {
    const s = scanner({ pii: { email: "redact", card: "block" } });
    const logged = new Map<string, string>();
    const args = JSON.stringify({ to: "Hi\nann@example.com", card: 4111111111111111, key });
    s.scanRequest(req("mail ann@example.com", args), logged);
    expect(JSON.parse(logged.get(args)!)).toEqual({
      to: "Hi\n[EMAIL_1]",
      card: "************1111",
      key: "sk-ant-…f3a9",
    });
  });

  it("the masker reuses those renderings and scans only the rest of the body", () => {
    const masker = scanner({ pii: { email: "mask" } }).logMasker({
      logged: new Map([["already scanned", "as rendered"]]),
    });
    expect(
      masker.request({ messages: [{ content: "already scanned" }], metadata: { note: `ann@example.com ${key}` } }),
    ).toEqual({
      messages: [{ content: "as rendered" }],
      metadata: { note: "a***@example.com sk-ant-…f3a9" },
    });
  });

  it("puts restored values back to their placeholder in the answer, and masks secrets it carries", () => {
    const s = scanner({ pii: { email: "redact", secret: "log" }, restoreRedactions: true });
    const r = s.scanRequest(req("write to ann@example.com"), new Map());
    const masker = s.logMasker({ restoreMap: r.restoreMap });
    expect(masker.response(`Sent to ann@example.com with ${key}.`)).toBe("Sent to [EMAIL_1] with sk-ant-…f3a9.");
    // Nothing to rewrite: the answer object itself.
    const answer = { choices: [{ message: { content: "done" } }] };
    expect(
      scanner({ pii: { secret: "redact" } })
        .logMasker()
        .response(answer),
    ).toBe(answer);
    expect(secretsLogMasker.response(answer)).toBe(answer);
  });
});
