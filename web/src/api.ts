/**
 * The dashboard's only door to the server: same-origin fetches with the session
 * cookie. Browsers add `Origin` to every state-changing fetch, which is what the
 * server's CSRF guard checks. Errors arrive as `{"error":{code,message,details}}`
 * and surface as ApiError, whose field errors forms show inline. Error codes
 * and roles are the server's own types (its error catalogue and permission
 * table), so a misspelt code or role is a type error here.
 */
import type { ApiErrorCode, AuthErrorCode } from "../../src/platform/error-catalogue";
import type { AssignableRole, Role } from "../../src/platform/permissions";

export type { AssignableRole, Role };

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
  DEFAULT_MODEL_NOT_ALLOWED: "defaultModel",
  EXPIRY_IN_PAST: "expiresAt",
  DUPLICATE_MODEL: "models",
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

// --- response shapes (the server's OpenAPI document is the reference) --------------

export interface Org {
  id: string;
  slug: string;
  name: string;
  description: string;
  personal: boolean;
  role: Role;
  createdAt: string;
  updatedAt: string;
}

export interface Me {
  user: { id: string; name: string; email: string; emailVerified: boolean; createdAt: string };
  organizations: Org[];
  activeOrganization: string | null;
}

export interface Member {
  userId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: AssignableRole;
  status: string;
  expired: boolean;
  invitedBy: { id: string; name: string } | null;
  expiresAt: string;
  createdAt: string;
}

export interface InvitationPreview {
  organization: { slug: string; name: string };
  invitedBy: { name: string } | null;
  email: string;
  role: AssignableRole;
  status: string;
  expired: boolean;
  expiresAt: string;
}

export interface Limits {
  rpm: number | null;
  tpm: number | null;
}

export interface Project {
  id: string;
  slug: string;
  name: string;
  description: string;
  environment: string;
  defaultModel: string | null;
  allowedModels: string[];
  fallbackModels: string[];
  rateLimit: Limits;
  keyRateLimit: Limits;
  monthlySpendCapMicroUsd: string | null;
  monthlySpendCapUsd: string | null;
  logBodies: boolean;
  logRetentionDays: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectMember {
  userId: string;
  name: string;
  email: string;
  role: Role;
  assignedAt: string;
}

export interface ApiKey {
  id: string;
  projectId: string;
  name: string;
  environment: "live" | "test";
  hint: string;
  status: "active" | "expired" | "revoked";
  createdBy: { userId: string | null; email: string | null };
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
}

export interface LogEntry {
  requestId: string;
  createdAt: string;
  endpoint: string;
  keyId: string;
  modelRequested: string | null;
  modelServed: string | null;
  provider: string | null;
  status: number;
  outcome: string;
  errorCode: string | null;
  errorSource: string | null;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  usageEstimated: boolean;
  costMicroUsd: string | null;
  costUsd: string | null;
  latencyMs: number;
  ttftMs: number | null;
  attempts: unknown[];
  clientIp: string | null;
  user: string | null;
  stream: boolean;
}

export interface PolicyVerdict {
  blocked: { type: string; ruleName?: string; direction: "input" | "output" } | null;
  findings: Array<{
    direction: "input" | "output";
    category: string;
    type: string;
    subtype?: string;
    ruleName?: string;
    action: string;
    severity: string;
    excerpt: string;
  }>;
}

export interface LogDetail extends LogEntry {
  requestBody: unknown;
  responseBody: unknown;
  /** The security policy's verdict (null when it found nothing; absent on servers without policies). */
  policy?: PolicyVerdict | null;
}

export interface UsageRow {
  day: string;
  model: string | null;
  requests: number;
  errors: number;
  errorRate: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costMicroUsd: string;
  costUsd: string;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

export interface ProviderModel {
  id: string;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  inputPricePerMillionUsd: string;
  cachedInputPricePerMillionUsd: string;
  outputPricePerMillionUsd: string;
}

export interface Provider {
  id: string;
  slug: string;
  name: string;
  format: "openai" | "anthropic" | "gemini";
  baseUrl: string;
  apiKeyHint: string;
  headerNames: string[];
  models: ProviderModel[];
  createdAt: string;
  updatedAt: string;
}

export interface ProviderTest {
  ok: boolean;
  latencyMs: number;
  model: string | null;
  error: { kind: string; status: number | null; message: string } | null;
}

export interface AuditEntry {
  id: string;
  action: string;
  actor: { userId: string | null; email: string | null };
  targetType: string;
  targetId: string | null;
  metadata: Record<string, unknown>;
  ip: string | null;
  createdAt: string;
}

export interface BillingSummary {
  balanceMicroUsd: string;
  balanceUsd: string;
  reservedMicroUsd: string;
  reservedUsd: string;
  availableMicroUsd: string;
  availableUsd: string;
  monthSpendMicroUsd: string;
  monthSpendUsd: string;
  monthStart: string;
  /** false: the instance runs without prepaid credits (TOLLGATE_BILLING=off). */
  creditsEnabled: boolean;
  stripeConfigured: boolean;
  addCredits: string;
}

export interface Transaction {
  id: string;
  kind: "topup" | "grant" | "usage" | "refund" | "adjustment";
  amountMicroUsd: string;
  amountUsd: string;
  projectId: string | null;
  periodStart: string | null;
  requests: number | null;
  note: string;
  actor: { userId: string | null; email: string | null };
  createdAt: string;
}

export interface UsageReportRow {
  day: string;
  projectId: string;
  projectSlug: string | null;
  model: string;
  keyId: string;
  requests: number;
  inputTokens: string;
  cachedInputTokens: string;
  outputTokens: string;
  costMicroUsd: string;
  costUsd: string;
}

export interface UsageReport {
  from: string;
  to: string;
  rows: UsageReportRow[];
  totals: {
    requests: number;
    inputTokens: string;
    cachedInputTokens: string;
    outputTokens: string;
    costMicroUsd: string;
    costUsd: string;
  };
}

export type PolicyAction = "off" | "log" | "mask" | "redact" | "block";
export const PII_TYPES = ["email", "phone", "card", "ssn", "iban", "ip", "secret"] as const;
export type PiiType = (typeof PII_TYPES)[number];

export interface PolicyRule {
  name: string;
  type: "keyword" | "regex";
  pattern: string;
  action: "log" | "mask" | "redact" | "block";
  category?: string;
  caseSensitive?: boolean;
  wholeWord?: boolean;
}

export interface OrgPolicy {
  pii: Record<PiiType, PolicyAction>;
  promptInjection: { action: "off" | "log" | "block"; threshold?: number };
  rules: PolicyRule[];
  restoreRedactions: boolean;
}

export interface ProjectPolicy {
  override: {
    pii?: Partial<Record<PiiType, PolicyAction>>;
    promptInjection?: { action?: "off" | "log" | "block"; threshold?: number };
    rules?: PolicyRule[];
    restoreRedactions?: boolean;
  };
  effective: OrgPolicy & {
    promptInjection: { action: "off" | "log" | "block"; threshold: number };
    rules: Array<PolicyRule & { source: "org" | "project" }>;
  };
}

export interface Incident {
  id: string;
  createdAt: string;
  project: { id: string; slug: string; name: string };
  keyId: string;
  requestId: string;
  direction: "input" | "output";
  category: "pii" | "injection" | "rule";
  type: string;
  subtype: string | null;
  ruleName: string | null;
  ruleCategory: string | null;
  action: "log" | "mask" | "redact" | "block";
  severity: "low" | "medium" | "high" | "critical";
  excerpt: string;
  score: number | null;
  reviewed: boolean;
  reviewedAt: string | null;
  reviewedBy: { id: string; email: string } | null;
  reviewNote: string | null;
}
