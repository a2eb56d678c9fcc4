import { describe, expect, it } from "vitest";
import {
  DEFAULT_POLICY,
  effectivePolicy,
  loosenings,
  MAX_RULES,
  orgPolicySchema,
  projectOverrideSchema,
  type OrgPolicy,
} from "./policy.js";

const org = (p: unknown): OrgPolicy => orgPolicySchema.parse(p);

describe("policy schemas", () => {
  it("accepts the DESIGN §5 body and fills defaults", () => {
    const p = org({
      pii: { email: "redact", secret: "block" },
      promptInjection: { action: "block", threshold: 0.6 },
      rules: [{ name: "codename", type: "keyword", pattern: "Falcon", action: "block" }],
    });
    expect(p.pii).toMatchObject({ email: "redact", secret: "block", phone: "off" });
    expect(p.restoreRedactions).toBe(false);
    expect(orgPolicySchema.parse(DEFAULT_POLICY)).toEqual(DEFAULT_POLICY);
  });
  it.each([
    [{ pii: { email: "nuke" } }, "unknown action"],
    [{ pii: { creditcard: "block" } }, "unknown PII type"],
    [{ extra: true }, "unknown top-level key"],
    [{ promptInjection: { action: "mask" } }, "mask is not an injection action"],
    [{ promptInjection: { action: "log", threshold: 2 } }, "threshold out of range"],
    [{ rules: [{ name: "x", type: "regex", pattern: "(a)\\1", action: "log" }] }, "backreference (not RE2)"],
    [{ rules: [{ name: "x", type: "regex", pattern: "(?=a)b", action: "log" }] }, "lookahead (not RE2)"],
    [{ rules: [{ name: "x", type: "regex", pattern: "a*", action: "log" }] }, "matches empty text"],
    [{ rules: [{ name: "x", type: "keyword", pattern: "y".repeat(201), action: "log" }] }, "pattern too long"],
    [{ rules: [{ name: "n".repeat(65), type: "keyword", pattern: "y", action: "log" }] }, "name too long"],
    [
      {
        rules: [
          { name: "a", type: "keyword", pattern: "x", action: "log" },
          { name: "A", type: "keyword", pattern: "y", action: "log" },
        ],
      },
      "duplicate names",
    ],
    [
      {
        rules: Array.from({ length: MAX_RULES + 1 }, (_, i) => ({
          name: `r${i}`,
          type: "keyword",
          pattern: `w${i}`,
          action: "log",
        })),
      },
      "too many rules",
    ],
    [{ rules: [{ name: "x", type: "keyword", pattern: "y", action: "log", eval: "1" }] }, "unknown rule key"],
  ] as Array<[unknown, string]>)("refuses %j (%s)", (body) =>
    expect(orgPolicySchema.safeParse(body).success).toBe(false),
  );
  it("override: everything optional, still strict", () => {
    expect(projectOverrideSchema.parse({})).toEqual({});
    expect(projectOverrideSchema.parse({ pii: { email: "block" } })).toEqual({ pii: { email: "block" } });
    expect(projectOverrideSchema.safeParse({ pii: { email: "block", foo: "off" } }).success).toBe(false);
  });
});

describe("effectivePolicy", () => {
  const base = org({
    pii: { email: "redact", phone: "log", card: "block", secret: "mask" },
    promptInjection: { action: "log", threshold: 0.6 },
    rules: [{ name: "codename", type: "keyword", pattern: "Falcon", action: "log" }],
    restoreRedactions: true,
  });
  it("is the org policy without an override", () => {
    const e = effectivePolicy(base, undefined);
    expect(e.pii.email).toBe("redact");
    expect(e.promptInjection).toEqual({ action: "log", threshold: 0.6 });
    expect(e.restoreRedactions).toBe(true);
  });
  it("takes the stricter of each setting and never loosens", () => {
    const e = effectivePolicy(base, {
      pii: { email: "log", phone: "block", ip: "mask" },
      promptInjection: { action: "off", threshold: 0.4 },
    });
    expect(e.pii).toMatchObject({
      email: "redact",
      phone: "block",
      ip: "mask",
      card: "block",
      secret: "mask",
      ssn: "off",
    });
    expect(e.promptInjection).toEqual({ action: "log", threshold: 0.4 });
  });
  it("a higher project threshold does not loosen", () => {
    expect(effectivePolicy(base, { promptInjection: { threshold: 0.9 } }).promptInjection.threshold).toBe(0.6);
  });
  it("unions rules; an identical rule only raises the action", () => {
    const e = effectivePolicy(base, {
      rules: [
        { name: "codename-strict", type: "keyword", pattern: "Falcon", action: "block" },
        { name: "ticket", type: "regex", pattern: "TCK-[0-9]+", action: "redact" },
      ],
    });
    expect(e.rules.map((r) => [r.name, r.action, r.source])).toEqual([
      ["codename", "block", "org"],
      ["ticket", "redact", "project"],
    ]);
    expect(base.rules[0]!.action).toBe("log"); // input untouched
  });
  it("restoreRedactions only when both allow", () => {
    expect(effectivePolicy(base, { restoreRedactions: false }).restoreRedactions).toBe(false);
    expect(effectivePolicy({ ...base, restoreRedactions: false }, { restoreRedactions: true }).restoreRedactions).toBe(
      false,
    );
  });
  it("lists the fields an override tries to loosen", () => {
    expect(
      loosenings(base, {
        pii: { email: "log", phone: "block" },
        promptInjection: { action: "off", threshold: 0.9 },
        restoreRedactions: true,
      }),
    ).toEqual(["pii.email", "promptInjection.action", "promptInjection.threshold"]);
  });
});
