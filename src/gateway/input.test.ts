import { describe, expect, it } from "vitest";
import { checkJsonInput, checkUtf8, isWellFormed } from "./input.js";

const nested = (depth: number, leaf = '"x"') =>
  JSON.parse(`${'{"content":['.repeat(depth)}${leaf}${"]}".repeat(depth)}`);

describe("checkJsonInput", () => {
  it("accepts an ordinary chat body", () => {
    const body = {
      model: "mock/echo",
      messages: [{ role: "user", content: [{ type: "text", text: "héllo 👋" }] }],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
    };
    expect(checkJsonInput(body)).toEqual({ ok: true });
  });

  it("refuses depth over the limit with a path", () => {
    const r = checkJsonInput(nested(40));
    expect(r).toMatchObject({ ok: false, code: "too_deep" });
    expect(r.ok === false && r.path.startsWith("$.content[0].content[0]")).toBe(true);
    expect(checkJsonInput(nested(10))).toEqual({ ok: true });
  });

  it.each([10_000, 100_000])("%i levels deep: a typed error, no RangeError", (depth) => {
    const v = nested(depth);
    expect(() => checkJsonInput(v)).not.toThrow();
    expect(checkJsonInput(v)).toMatchObject({ ok: false, code: "too_deep" });
    expect(checkJsonInput(v, { maxDepth: depth * 3 })).toEqual({ ok: true });
  });

  it("refuses lone surrogates in values and keys, accepts proper pairs", () => {
    expect(checkJsonInput(JSON.parse('{"messages":[{"content":"a\\ud800b"}]}'))).toMatchObject({
      ok: false,
      code: "invalid_string",
      path: "$.messages[0].content",
    });
    expect(checkJsonInput(JSON.parse('{"x":"\\udc00"}'))).toMatchObject({ ok: false, code: "invalid_string" });
    expect(checkJsonInput(JSON.parse('{"k\\ud83d":1}'))).toMatchObject({ ok: false, code: "invalid_string" });
    expect(checkJsonInput(JSON.parse('{"x":"\\ud83d\\udc4b"}'))).toEqual({ ok: true });
    expect(isWellFormed("ok")).toBe(true);
  });

  it("refuses __proto__ keys and too many values", () => {
    expect(checkJsonInput(JSON.parse('{"a":{"__proto__":{"admin":true}}}'))).toMatchObject({
      ok: false,
      code: "forbidden_key",
      path: "$.a",
    });
    expect(
      checkJsonInput(
        Array.from({ length: 100 }, () => 1),
        { maxNodes: 50 },
      ),
    ).toMatchObject({ ok: false, code: "too_many_values" });
  });
});

describe("checkUtf8", () => {
  it("refuses invalid bytes instead of substituting U+FFFD", () => {
    expect(checkUtf8(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({ ok: false, code: "invalid_utf8" });
    expect(checkUtf8(Buffer.from('{"a":"héllo"}'))).toEqual({ ok: true });
  });
});
