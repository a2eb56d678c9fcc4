/**
 * Bad-input checks for gateway bodies, run right after JSON.parse and before
 * anything recursive (validation, PII scans, logging, JSON.stringify) touches
 * the value. Invariants:
 * - Iterative walk with an explicit stack: any depth is safe to inspect
 *   (JSON.parse itself accepts 100k levels; JSON.stringify would RangeError).
 * - Refuses: depth > maxDepth, more than maxNodes values, strings (values or
 *   keys) that are not well-formed UTF-16 (lone surrogates: providers answer
 *   400 "no low surrogate" and we must never forward or bill them), and
 *   `__proto__` keys. The first problem found is returned with a JSON path.
 */

export type InputProblemCode = "too_deep" | "too_many_values" | "invalid_string" | "forbidden_key" | "invalid_utf8";

export type InputCheck = { ok: true } | { ok: false; code: InputProblemCode; path: string; message: string };

export interface InputLimits {
  maxDepth?: number;
  maxNodes?: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isWellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return typeof native === "function" ? native.call(s) : !LONE_SURROGATE.test(s);
}

/** Raw request bytes: refuse invalid UTF-8 instead of letting the decoder substitute U+FFFD. */
export function checkUtf8(bytes: Uint8Array): InputCheck {
  let valid: boolean;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    valid = true;
  } catch {
    valid = false;
  }
  return valid
    ? { ok: true }
    : { ok: false, code: "invalid_utf8", path: "$", message: "The request body is not valid UTF-8." };
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

function pathOf(f: Frame | undefined): string {
  const parts: string[] = [];
  // Bounded by maxDepth + 1 because frames deeper than that are never created.
  for (let cur = f; cur && cur.key !== undefined; cur = cur.parent) {
    parts.push(
      typeof cur.key === "number"
        ? `[${cur.key}]`
        : /^[A-Za-z_$][\w$]*$/.test(cur.key)
          ? `.${cur.key}`
          : `[${JSON.stringify(cur.key)}]`,
    );
  }
  return `$${parts.reverse().join("")}`;
}

export function checkJsonInput(value: unknown, limits: InputLimits = {}): InputCheck {
  const maxDepth = limits.maxDepth ?? 64;
  const maxNodes = limits.maxNodes ?? 1_000_000;
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  let nodes = 0;
  while (stack.length) {
    const f = stack.pop()!;
    if (++nodes > maxNodes)
      return {
        ok: false,
        code: "too_many_values",
        path: pathOf(f),
        message: `The request has more than ${maxNodes} values.`,
      };
    const v = f.value;
    if (typeof v === "string") {
      if (!isWellFormed(v))
        return {
          ok: false,
          code: "invalid_string",
          path: pathOf(f),
          message: "A string contains an unpaired surrogate (invalid Unicode).",
        };
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (f.depth >= maxDepth)
      return {
        ok: false,
        code: "too_deep",
        path: pathOf(f.parent),
        message: `The request is nested deeper than ${maxDepth} levels.`,
      };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth: f.depth + 1, parent: f, key: i });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        if (k === "__proto__")
          return { ok: false, code: "forbidden_key", path: pathOf(f), message: 'The key "__proto__" is not allowed.' };
        if (!isWellFormed(k))
          return {
            ok: false,
            code: "invalid_string",
            path: pathOf(f),
            message: "A key contains an unpaired surrogate (invalid Unicode).",
          };
        stack.push({ value: (v as Record<string, unknown>)[k], depth: f.depth + 1, parent: f, key: k });
      }
    }
  }
  return { ok: true };
}
