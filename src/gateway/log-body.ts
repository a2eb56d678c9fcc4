/**
 * Bodies in the request log (projects with `logBodies`). Invariants:
 * - Masked first (LogMasker: the security policy's, else recognised secrets
 *   only), capped second, so a secret at the cap is never half-stored.
 * - JSON text the gateway already holds (the request as received, the answer
 *   as sent) is stored as it is when masking changed nothing: no parse and
 *   re-serialisation on the common path.
 */
import type { GatewayHooks, GatewayRequestContext, LogMasker } from "./hooks.js";
import { secretsLogMasker } from "./security/log-mask.js";

/**
 * A body the gateway already holds as JSON text (the request as received, the
 * answer as sent): the log writer stores the text as it is instead of parsing it
 * back and serialising it again. `toJSON` keeps JSON.stringify of an entry right.
 */
export class JsonText {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/** JSON text for the log, capped like capForLog. */
export function capJsonForLog(text: string, limit: number): JsonText | { truncated: true; preview: string } {
  return text.length <= limit ? new JsonText(text) : { truncated: true, preview: text.slice(0, limit) };
}

export function capForLog(value: unknown, limit: number): unknown {
  if (value === undefined || value === null) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length <= limit
    ? typeof value === "string"
      ? value
      : JSON.parse(text)
    : { truncated: true, preview: text.slice(0, limit) };
}

export function logMaskerFor(hooks: GatewayHooks, ctx: GatewayRequestContext): LogMasker {
  return hooks.logMasker?.(ctx) ?? secretsLogMasker;
}

/** `masked` (what a LogMasker made of `original`) capped for the log; `text`: the JSON text of `original`, when held. */
export function bodyForLog(
  masked: unknown,
  original: unknown,
  text: string | null | undefined,
  limit: number,
): unknown {
  return masked === original && typeof text === "string" ? capJsonForLog(text, limit) : capForLog(masked, limit);
}
