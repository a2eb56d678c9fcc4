/**
 * The dashboard's only door to the server: same-origin fetches with the session
 * cookie. Browsers add `Origin` to every state-changing fetch, which is what the
 * server's CSRF guard checks. Errors arrive as `{"error":{code,message,details}}`
 * and surface as ApiError, whose field errors forms show inline. Error codes
 * and roles are the server's own types (its error catalogue and permission
 * table), so a misspelt code or role is a type error here.
 */
import type { ApiErrorCode, AuthErrorCode } from "../../src/platform/error-catalogue";

/** Codes made up here: the server could not be reached, or answered without the error envelope. */
export type ClientErrorCode = "NETWORK_ERROR" | `HTTP_${number}`;
/** Every code an ApiError can carry: the control plane's, the auth library's (relayed), and the client's. */
export type ErrorCode = ApiErrorCode | AuthErrorCode | ClientErrorCode;

export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** Validation issues as `field → message` (the `body.` / `querystring.` prefix dropped). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (!Array.isArray(this.details)) return out;
    for (const d of this.details as FieldIssue[]) {
      if (!d || typeof d.path !== "string") continue;
      const field = d.path.replace(/^(body|querystring|params)\.?/, "");
      if (field && !(field in out)) out[field] = d.message;
    }
    return out;
  }
}

/** Error codes that belong to one form field (everything else is shown above the form). */
const CODE_FIELDS: Partial<Record<ErrorCode, string>> = {
  SLUG_TAKEN: "slug",
  PROVIDER_SLUG_TAKEN: "slug",
  CONFIRMATION_MISMATCH: "confirm",
  USER_ALREADY_EXISTS: "email",
  USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: "email",
  INVALID_EMAIL: "email",
  INVALID_EMAIL_OR_PASSWORD: "password",
  PASSWORD_TOO_SHORT: "password",
  PASSWORD_TOO_LONG: "password",
  ALREADY_MEMBER: "email",
  INVITATION_PENDING: "email",
  SIGNUP_INVITE_ONLY: "email",
  SIGNUP_DOMAIN_NOT_ALLOWED: "email",
  DEFAULT_MODEL_NOT_ALLOWED: "defaultModel",
  EXPIRY_IN_PAST: "expiresAt",
  DUPLICATE_MODEL: "models",
  AZURE_ENDPOINT_INVALID: "baseUrl",
  AZURE_API_KEY_REQUIRED: "apiKey",
};

/**
 * Splits an API error into inline field errors (for `form.setErrors`) and a
 * message for the whole form when no field matches.
 */
export function formErrors(
  err: unknown,
  fields: readonly string[],
): { fields: Record<string, string>; general: string | null } {
  if (!(err instanceof ApiError))
    return { fields: {}, general: err instanceof Error ? err.message : "Something went wrong." };
  const known = new Set(fields);
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(err.fieldErrors())) {
    const top = path.split(".")[0]!;
    if (known.has(path)) out[path] = message;
    else if (known.has(top) && !(top in out)) out[top] = message;
  }
  const mapped = CODE_FIELDS[err.code];
  if (mapped && known.has(mapped)) out[mapped] = err.message;
  return { fields: out, general: Object.keys(out).length ? null : err.message };
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "NETWORK_ERROR", "The server cannot be reached. Check your connection and try again.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const e = (
      parsed as { error?: { code?: ErrorCode; message?: string; details?: unknown; requestId?: string } } | undefined
    )?.error;
    throw new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? `The server answered ${res.status}.`,
      e?.details,
      e?.requestId,
    );
  }
  return parsed as T;
}

export const api = {
  get: <T>(url: string) => request<T>("GET", url),
  post: <T>(url: string, body?: unknown) => request<T>("POST", url, body ?? {}),
  patch: <T>(url: string, body: unknown) => request<T>("PATCH", url, body),
  put: <T>(url: string, body: unknown) => request<T>("PUT", url, body),
  del: <T>(url: string, body?: unknown) => request<T>("DELETE", url, body),
};

/** `/api/v1/orgs/<org>` + path, with every segment encoded. */
export const orgUrl = (org: string, path = "") => `/api/v1/orgs/${encodeURIComponent(org)}${path}`;
export const projectUrl = (org: string, project: string, path = "") =>
  orgUrl(org, `/projects/${encodeURIComponent(project)}${path}`);

export const qs = (params: Record<string, string | number | undefined | null>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
};

// The response shapes live in api-types.ts; pages import them from here with the client.
export * from "./api-types";
