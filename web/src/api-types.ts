/**
 * The shapes of the server's answers as the dashboard reads them (the
 * server's OpenAPI document is the reference). Codes and roles are the
 * server's own types.
 */
import type { GatewayErrorCode } from "../../src/gateway/errors";
import type { AssignableRole, Role } from "../../src/platform/permissions";

// --- response shapes (the server's OpenAPI document is the reference) --------------

export interface Org {
  id: string;
  slug: string;
  name: string;
  description: string;
  personal: boolean;
  /** Members without two-factor authentication are refused (TWO_FACTOR_REQUIRED). */
  requireTwoFactor: boolean;
  /** Members other than the owner reach it only through its identity provider (SSO_REQUIRED). */
  requireSso: boolean;
  /** The org requires SSO and this session did not come through its identity provider (`/api/v1/me` only). */
  ssoSignInNeeded?: boolean;
  role: Role;
  createdAt: string;
  updatedAt: string;
}

export interface Me {
  user: {
    id: string;
    name: string;
    email: string;
    emailVerified: boolean;
    twoFactorEnabled: boolean;
    createdAt: string;
  };
  organizations: Org[];
  activeOrganization: string | null;
}

export interface Member {
  userId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: string;
  twoFactorEnabled: boolean;
  /** The latest activity of any of the member's sessions; null when they have none. */
  lastActiveAt: string | null;
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

/** What a budget counts over: a UTC day, a UTC month, or all time. */
export type BudgetPeriod = "day" | "month" | "total";

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
  /** Response cache: "exact" answers an identical request from the cache for ttlSeconds; "off" never. */
  cache: { mode: "off" | "exact"; ttlSeconds: number };
  /** A spend budget per end user (requests naming a `user`); null: none. */
  endUserBudget: { amountMicroUsd: string; amountUsd: string; period: BudgetPeriod } | null;
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
  /** The key's own allowed models (within the project's); null: the project's. */
  allowedModels: string[] | null;
  /** The key's own limits; a null field: the project's per-key limit. */
  rateLimit: Limits;
  /** The key's budget and its spend in the current period; null: none. */
  budget: {
    amountMicroUsd: string;
    amountUsd: string;
    period: BudgetPeriod;
    spentMicroUsd: string;
    spentUsd: string;
  } | null;
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
  /** The gateway error catalogue's code (null when the call succeeded). */
  errorCode: GatewayErrorCode | null;
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
  cacheHits: number;
  cacheMisses: number;
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
  format: "openai" | "anthropic" | "gemini" | "azure" | "vertex" | "bedrock";
  baseUrl: string;
  apiKeyHint: string;
  headerNames: string[];
  models: ProviderModel[];
  /** Azure OpenAI only: the API version and model → deployment names. */
  apiVersion?: string;
  deployments?: Record<string, string>;
  /** Vertex AI only: the project, the location, and a token URL of its own (the key is shown by its client_email). */
  project?: string;
  location?: string;
  tokenUrl?: string;
  /** Amazon Bedrock only: the region and the access key id (also the hint; the secret is never shown). */
  region?: string;
  accessKeyId?: string;
  /** The preset the provider was made from. */
  preset?: string;
  /** The models its upstream's list gave (OpenAI format), priced as the preset says; and when they were listed. */
  discoveredModels?: Array<ProviderModel & { priced: boolean }>;
  discoveredAt?: string | null;
  /** Several credentials (then apiKeyHint is "N credentials"); never the keys. */
  credentials?: Array<{ id: string; hint: string; weight: number; rpm: number | null; baseUrl: string | null }>;
  createdAt: string;
  updatedAt: string;
}

/** What listing a provider's models gave (created from a preset, or its models refreshed). */
export interface ProviderDiscovery {
  ok: boolean;
  count: number;
  source: "upstream" | "price-library" | null;
  error: string | null;
}

/** An OpenAI-compatible vendor a provider can be made from. */
export interface ProviderPreset {
  id: string;
  name: string;
  baseUrl: string;
  /** Runs on the team's own hardware (no key needed). */
  selfHosted: boolean;
  /** The price library prices its models. */
  priced: boolean;
  keysUrl: string | null;
}

type ProbeError = { kind: string; status: number | null; message: string } | null;

export interface ProviderTest {
  ok: boolean;
  latencyMs: number;
  model: string | null;
  error: ProbeError;
  /** Several credentials: each one's result. */
  credentials?: Array<{ id: string; ok: boolean; latencyMs: number; error: ProbeError }>;
}

export interface AuditEntry {
  id: string;
  action: string;
  /** `token`: an organization API token acted (then userId and email are null). */
  actor: { userId: string | null; email: string | null; token: { id: string; name: string | null } | null };
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
