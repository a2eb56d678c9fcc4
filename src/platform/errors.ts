/**
 * Typed domain errors. Every error a user can cause has a stable UPPER_SNAKE
 * code from the catalogue (`error-catalogue.ts`), which also fixes its HTTP
 * status; the mapping to the wire shape lives in one place (`http.ts`).
 * Messages are written for the user and never carry secrets.
 */
import {
  type ApiErrorCode,
  type CodeWithDefaultMessage,
  type CodeWithStatus,
  type ErrorSpec,
  ERROR_CATALOGUE,
} from "./error-catalogue.js";

export type { ApiErrorCode } from "./error-catalogue.js";

export class AppError extends Error {
  public readonly status: number;

  /** The status is the catalogue's: a code cannot be raised with another one. */
  constructor(
    public readonly code: ApiErrorCode,
    message: string,
    public readonly details?: unknown,
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
    this.status = ERROR_CATALOGUE[code].status;
  }
}

type MessageArgs<C extends ApiErrorCode> = C extends CodeWithDefaultMessage
  ? [message?: string, details?: unknown, headers?: Record<string, string>]
  : [message: string, details?: unknown, headers?: Record<string, string>];

/**
 * Raises `code` with the catalogue's status. The message may be left out when
 * the catalogue has a default one for the code.
 */
export function appError<C extends ApiErrorCode>(code: C, ...[message, details, headers]: MessageArgs<C>): AppError {
  const spec: ErrorSpec = ERROR_CATALOGUE[code];
  return new AppError(code, message ?? spec.message ?? code, details, headers);
}

/** The Retry-After header for a 429, in whole seconds (at least 1). */
export const retryAfter = (seconds: number): Record<string, string> => ({
  "retry-after": String(Math.max(1, Math.ceil(seconds))),
});

/** A 404 for the not-found handlers (kept for the app's own handler). */
export const notFound = (code: CodeWithStatus<404>, message: string) => appError(code, message);

/**
 * A filter's bounds the wrong way round (zod checks each value alone): 400 INVALID_RANGE. Instants are
 * compared as instants (ISO strings with offsets), numbers as numbers; an absent bound is no bound.
 */
export function assertRange<T extends string | number | bigint>(
  low: T | undefined,
  high: T | undefined,
  message: string,
): void {
  if (low === undefined || high === undefined) return;
  const wrong = typeof low === "string" ? Date.parse(low) > Date.parse(high as string) : low > high;
  if (wrong) throw appError("INVALID_RANGE", message);
}
