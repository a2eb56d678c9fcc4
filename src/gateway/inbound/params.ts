/**
 * Request-parameter checking shared by the inbound schemas (openai-schema.ts,
 * anthropic-schema.ts): a zod schema checks the parsed body, and the first
 * problem becomes a 400 naming the parameter — code `invalid_<parameter>` (the
 * top-level name: `invalid_temperature`, `invalid_messages`…), `param` the
 * full path (`messages[0].role`), a message that starts with that path.
 *
 * Invariants: the body is only checked, never replaced by what zod builds (the
 * endpoint keeps the object the client sent, so parameters Tollgate does not
 * know pass through untouched); every object schema is loose (unknown keys are
 * allowed at every level).
 */
import { type core, z } from "zod";
import { invalidRequest } from "../errors.js";

/** A number in [min, max]; `null` allowed as the official SDKs send it. */
export const ranged = (min: number, max: number) => z.number().min(min).max(max).nullish();

/** An integer of at least `min` (a token count: 1). */
export const intFrom = (min: number) => z.int().min(min);

/** The problem's path as a parameter name: `messages[0].content`. */
function paramOf(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

const ARTICLE: Record<string, string> = {
  int: "an integer",
  array: "an array",
  object: "an object",
  record: "an object",
};

function describe(issue: core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `must be ${ARTICLE[issue.expected] ?? `a ${issue.expected}`}`;
    case "too_small":
      if (issue.origin === "array" && Number(issue.minimum) === 1) return "must be a non-empty array";
      return issue.origin === "array" || issue.origin === "string"
        ? `must have at least ${issue.minimum} ${issue.origin === "array" ? "items" : "characters"}`
        : `must be at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array" || issue.origin === "string" || issue.origin === "object"
        ? `must have at most ${issue.maximum} ${issue.origin === "array" ? "items" : issue.origin === "string" ? "characters" : "entries"}`
        : `must be at most ${issue.maximum}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      if ("options" in issue && Array.isArray(issue.options))
        return `must be one of ${issue.options.map((v) => JSON.stringify(v)).join(", ")}`;
      return issue.message;
    default:
      return issue.message;
  }
}

/**
 * Checks `body` against `schema`; a problem throws 400 `invalid_<parameter>` (`invalid_body` when the body
 * itself is not an object). Returns nothing: the caller goes on with the body it has.
 */
export function checkParams(schema: z.ZodType, body: unknown): void {
  const r = schema.safeParse(body, { reportInput: true });
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const top = issue.path[0];
  if (typeof top !== "string") throw invalidRequest("invalid_body", "The body must be a JSON object.");
  const param = paramOf(issue.path);
  throw invalidRequest(`invalid_${top}`, `\`${param}\` ${describe(issue)}.`, param);
}
