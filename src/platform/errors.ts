/**
 * Typed domain errors. Every error a user can cause has a stable UPPER_SNAKE
 * code and an HTTP status; the mapping to the wire shape lives in one place
 * (`http.ts`). Messages are written for the user and never carry secrets.
 */

export class AppError extends Error {
  constructor(
    public readonly code: string,
    public readonly status: number,
    message: string,
    public readonly details?: unknown,
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new AppError(code, 400, message, details);
export const unauthorized = (message = "Sign in to continue.") => new AppError("UNAUTHENTICATED", 401, message);
export const forbidden = (code: string, message: string) => new AppError(code, 403, message);
export const notFound = (code: string, message: string) => new AppError(code, 404, message);
export const conflict = (code: string, message: string, details?: unknown) => new AppError(code, 409, message, details);
export const gone = (code: string, message: string) => new AppError(code, 410, message);
export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new AppError(code, 429, message, undefined, { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
