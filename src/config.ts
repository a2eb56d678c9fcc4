/**
 * The one configuration schema. Nothing else in the code reads `process.env`:
 * `loadConfig()` parses the environment once and every part of the app gets the
 * typed result. A bad value stops start-up with a message naming the variable.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  AZURE_API_VERSION,
  AZURE_DEFAULT_API_VERSION,
  azureConfigProblem,
  parseDeploymentList,
} from "./config-azure.js";
import { type BedrockConfig, bedrockConfig } from "./config-bedrock.js";
import { type TracingConfig, tracingConfig } from "./config-otel.js";
import { type PresetConfig, presetsConfig } from "./config-presets.js";
import {
  VERTEX_DEFAULT_LOCATION,
  VERTEX_LOCATION,
  VERTEX_PROJECT,
  type VertexConfig,
  vertexConfig,
} from "./config-vertex.js";

/** The instance's sign-up policy (`TOLLGATE_SIGNUP`; enforced by platform/auth/signup-policy.ts). */
export type SignUpPolicy = { kind: "open" } | { kind: "invite-only" } | { kind: "domains"; domains: string[] };

/** A lower-case DNS domain name with a top-level label (an email domain): `acme.com`, `mail.acme.io`. */
export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Parses `open | invite-only | domains:a.com,b.io`; returns an error message for anything else. */
export function parseSignUpPolicy(raw: string): SignUpPolicy | string {
  const value = raw.trim().toLowerCase();
  if (value === "" || value === "open") return { kind: "open" };
  if (value === "invite-only") return { kind: "invite-only" };
  if (value.startsWith("domains:")) {
    const domains = value
      .slice("domains:".length)
      .split(",")
      .map((d) => d.trim().replace(/^@/, ""))
      .filter(Boolean);
    const bad = domains.find((d) => !DOMAIN_NAME.test(d));
    if (domains.length === 0) return "domains: needs at least one domain, e.g. domains:acme.com,acme.io";
    if (bad) return `"${bad}" is not a domain name`;
    return { kind: "domains", domains: [...new Set(domains)] };
  }
  return "must be open, invite-only or domains:<domain>[,<domain>…]";
}

/** An optional URL; an empty value counts as unset. */
const optionalUrl = z.preprocess(
  (v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v),
  z.url().optional(),
);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  PUBLIC_URL: optionalUrl,
  TOLLGATE_DATA_DIR: z.string().default("./data"),
  TOLLGATE_SECRET: z.string().min(32, "must be at least 32 characters (e.g. `openssl rand -base64 48`)").optional(),
  TOLLGATE_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  TOLLGATE_TRUST_PROXY: z
    .string()
    .optional()
    .describe("Hops/addresses of trusted reverse proxies for the client IP (Fastify trustProxy)."),
  DATABASE_URL: optionalUrl,
  REDIS_URL: optionalUrl,
  TOLLGATE_REDIS_PREFIX: z.string().min(1).default("tollgate:"),
  TOLLGATE_RATE_LIMIT_REDIS_FAILURE: z.enum(["local", "closed"]).default("local"),
  TOLLGATE_BILLING_REDIS_FAILURE: z.enum(["closed", "open"]).default("closed"),
  TOLLGATE_METRICS_TOKEN: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().min(16, "must be at least 16 characters").optional(),
  ),
  TOLLGATE_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(25_000),
  TOLLGATE_SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  TOLLGATE_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  SMTP_URL: optionalUrl,
  MAIL_FROM: z.string().default("Tollgate <no-reply@tollgate.local>"),
  TOLLGATE_REQUIRE_EMAIL_VERIFICATION: z
    .enum(["true", "false"])
    .default("false")
    .describe("true: an account can sign in and reach organizations only once its email address is verified."),
  TOLLGATE_SSO_TRUSTED_ORIGINS: z
    .string()
    .default("")
    .transform((v, ctx) => {
      const origins: string[] = [];
      for (const raw of v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)) {
        let url: URL | null = null;
        try {
          url = new URL(raw);
        } catch {
          /* reported below */
        }
        if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.origin !== raw.replace(/\/$/, "")) {
          ctx.addIssue({ code: "custom", message: `"${raw}" is not an origin (scheme://host[:port])` });
          return z.NEVER;
        }
        origins.push(url.origin);
      }
      return origins;
    })
    .describe("Origins of identity providers on private networks that single sign-on may reach."),
  TOLLGATE_DNS_SERVERS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .describe("DNS resolvers (ip or ip:port) that verify organizations' SSO domains; the system's when empty."),
  TOLLGATE_SIGNUP: z
    .string()
    .default("open")
    .transform((v, ctx) => {
      const policy = parseSignUpPolicy(v);
      if (typeof policy === "string") {
        ctx.addIssue({ code: "custom", message: policy });
        return z.NEVER;
      }
      return policy;
    })
    .describe("Who may sign up: open, invite-only, or domains:acme.com,acme.io (invited addresses always may)."),
  STRIPE_SECRET_KEY: z.string().optional(),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_API_URL: optionalUrl,
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: optionalUrl,
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: optionalUrl,
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_BASE_URL: optionalUrl,
  AZURE_OPENAI_ENDPOINT: optionalUrl.describe(
    "The Azure OpenAI resource's endpoint, https://<resource>.openai.azure.com.",
  ),
  AZURE_OPENAI_API_KEY: z.string().optional(),
  AZURE_OPENAI_API_VERSION: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v),
    z
      .string()
      .regex(AZURE_API_VERSION, "must be an API version like 2024-10-21 or 2025-04-01-preview")
      .default(AZURE_DEFAULT_API_VERSION),
  ),
  AZURE_OPENAI_DEPLOYMENTS: z
    .string()
    .default("")
    .transform((v, ctx) => {
      const deployments = parseDeploymentList(v);
      if (typeof deployments === "string") {
        ctx.addIssue({ code: "custom", message: deployments });
        return z.NEVER;
      }
      return deployments;
    })
    .describe("model=deployment[,model=deployment…]: the models the built-in azure provider serves."),
  GOOGLE_VERTEX_PROJECT: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v),
    z
      .string()
      .regex(VERTEX_PROJECT, "must be a Google Cloud project id like my-project-123")
      .optional()
      .describe("The Google Cloud project of the built-in vertex provider."),
  ),
  GOOGLE_VERTEX_LOCATION: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v),
    z
      .string()
      .regex(VERTEX_LOCATION, "must be a Vertex AI location like us-central1, europe-west4 or global")
      .default(VERTEX_DEFAULT_LOCATION),
  ),
  GOOGLE_VERTEX_BASE_URL: optionalUrl,
  GOOGLE_APPLICATION_CREDENTIALS: z
    .string()
    .optional()
    .describe("Path of a service account's JSON key file (the built-in vertex provider's credentials)."),
  TOLLGATE_ALLOWED_PROVIDER_HOSTS: z.string().default(""),
  TOLLGATE_PRICE_OVERRIDES: z
    .string()
    .default("")
    .describe('JSON: {"provider/model": {"input","cachedInput","output"}} in USD per million tokens.'),
  TOLLGATE_MARKUP_PERCENT: z
    .string()
    .regex(/^\d{1,4}(\.\d{1,4})?$/, "must be a percentage like 10 or 12.5")
    .default("0"),
  TOLLGATE_CACHE_HIT_PRICE_PERCENT: z.coerce
    .number()
    .int()
    .min(0)
    .max(100)
    .default(0)
    .describe("Percent of the usage's price a response-cache hit is billed at (default 0: free)."),
  TOLLGATE_ALLOW_UNPRICED_MODELS: z
    .enum(["true", "false"])
    .default("false")
    .describe("true: models no price covers are served at cost 0 (default: refused with model_not_priced)."),
  TOLLGATE_ADMIN_EMAILS: z
    .string()
    .default("")
    .describe("Comma-separated emails of the instance operators (the admin area and /api/v1/admin/...)."),
  TOLLGATE_BILLING: z
    .enum(["credits", "off"])
    .default("credits")
    .describe(
      "credits: every request is paid from the organization's prepaid balance; off: metered and capped by project spend caps, no balance needed.",
    ),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  port: number;
  host: string;
  /** Origin the dashboard and links are served from, without trailing slash. */
  publicUrl: string;
  dataDir: string;
  secret: string;
  logLevel: Env["TOLLGATE_LOG_LEVEL"];
  trustProxy: boolean | number | string;
  databaseUrl?: string;
  redisUrl?: string;
  /** Redis key/channel prefix (several deployments can share one Redis) and what rate limits do while Redis is unreachable. */
  redis: { prefix: string; rateLimitFailure: "local" | "closed"; billingFailure: "closed" | "open" };
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Graceful shutdown: how long in-flight requests may drain, and how long /readyz says 503 before the listener closes. */
  shutdown: { timeoutMs: number; delayMs: number };
  /** Instance default request-log retention in days (0: keep forever); projects may set their own. */
  logRetentionDays: number;
  smtpUrl?: string;
  mailFrom: string;
  /** Accounts: sign-in and organizations need a verified email; who may sign up; reset/verification mail limits per window. */
  accounts: {
    requireEmailVerification: boolean;
    signUp: SignUpPolicy;
    mailThrottle: { maxPerEmail: number; maxPerIp: number; windowSeconds: number };
  };
  /** Single sign-on: identity provider origins on private networks it may reach; resolvers for domain checks. */
  sso: { trustedOrigins: string[]; dnsServers: string[] };
  stripe: { secretKey?: string; webhookSecret?: string; apiUrl?: string };
  providers: {
    openai: { apiKey?: string; baseUrl?: string };
    anthropic: { apiKey?: string; baseUrl?: string };
    gemini: { apiKey?: string; baseUrl?: string };
    /** Offered once both the endpoint (baseUrl) and the key are set; its models are the deployments' models. */
    azure: { apiKey?: string; baseUrl?: string; apiVersion: string; deployments: Record<string, string> };
    /** Offered once both the project and the key (read from GOOGLE_APPLICATION_CREDENTIALS) are set. */
    vertex: VertexConfig;
    /** From the standard AWS_* variables (config-bedrock.ts); offered once region, key id and secret are set. */
    bedrock: BedrockConfig;
  };
  /** The OpenAI-compatible vendors' presets turned on instance-wide (config-presets.ts), by preset id. */
  presets: Record<string, PresetConfig>;
  /** OpenTelemetry tracing from the standard OTEL_* variables (config-otel.ts); null: off. */
  tracing: TracingConfig | null;
  allowedProviderHosts: string[];
  /** Billing: operator price overrides (raw JSON, parsed by the metering module) and markup on built-in provider prices. */
  billing: {
    priceOverrides: string;
    markupPercent: string;
    allowUnpriced: boolean;
    credits: boolean;
    /** Percent of the price a response-cache hit is billed at. */
    cacheHitPricePercent: number;
  };
  /** Instance operators: signed-in users with one of these emails (lower-cased) reach the admin area. */
  adminEmails: string[];
  /** Sign-in throttle: failures per window before 429. */
  loginThrottle: { maxFailuresPerEmail: number; maxFailuresPerIp: number; windowSeconds: number };
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function parseTrustProxy(v: string | undefined): boolean | number | string {
  if (v === undefined || v === "" || v === "false") return false;
  if (v === "true") return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

/**
 * Without TOLLGATE_SECRET a single-machine install still needs a stable secret
 * (sessions, encrypted provider keys): one is generated once and kept in the
 * data dir, readable only by the owner.
 */
function secretFromDataDir(dataDir: string): string {
  const file = path.join(dataDir, "secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`));
  }
  const e = parsed.data;
  const azureProblem = azureConfigProblem(e);
  if (azureProblem) throw new ConfigError([azureProblem]);
  const vertex = vertexConfig(e);
  if (typeof vertex === "string") throw new ConfigError([vertex]);
  const bedrock = bedrockConfig(source);
  if (typeof bedrock === "string") throw new ConfigError([bedrock]);
  const presets = presetsConfig(source);
  if (typeof presets === "string") throw new ConfigError([presets]);
  const tracing = tracingConfig(source);
  if (typeof tracing === "string") throw new ConfigError([tracing]);
  const port = e.PORT;
  const dataDir = path.resolve(e.TOLLGATE_DATA_DIR);
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, "");
  const secret = overrides.secret ?? e.TOLLGATE_SECRET ?? secretFromDataDir(dataDir);
  return {
    env: e.NODE_ENV,
    port,
    host: e.HOST,
    publicUrl,
    dataDir,
    secret,
    logLevel: e.TOLLGATE_LOG_LEVEL,
    trustProxy: parseTrustProxy(e.TOLLGATE_TRUST_PROXY),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redis: {
      prefix: e.TOLLGATE_REDIS_PREFIX,
      rateLimitFailure: e.TOLLGATE_RATE_LIMIT_REDIS_FAILURE,
      billingFailure: e.TOLLGATE_BILLING_REDIS_FAILURE,
    },
    metricsToken: e.TOLLGATE_METRICS_TOKEN,
    shutdown: { timeoutMs: e.TOLLGATE_SHUTDOWN_TIMEOUT_MS, delayMs: e.TOLLGATE_SHUTDOWN_DELAY_MS },
    logRetentionDays: e.TOLLGATE_LOG_RETENTION_DAYS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    accounts: {
      requireEmailVerification: e.TOLLGATE_REQUIRE_EMAIL_VERIFICATION === "true",
      signUp: e.TOLLGATE_SIGNUP,
      mailThrottle: { maxPerEmail: 5, maxPerIp: 30, windowSeconds: 60 * 60 },
    },
    sso: { trustedOrigins: e.TOLLGATE_SSO_TRUSTED_ORIGINS, dnsServers: e.TOLLGATE_DNS_SERVERS },
    billing: {
      priceOverrides: e.TOLLGATE_PRICE_OVERRIDES,
      markupPercent: e.TOLLGATE_MARKUP_PERCENT,
      allowUnpriced: e.TOLLGATE_ALLOW_UNPRICED_MODELS === "true",
      cacheHitPricePercent: e.TOLLGATE_CACHE_HIT_PRICE_PERCENT,
      credits: e.TOLLGATE_BILLING === "credits",
    },
    stripe: { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiUrl: e.STRIPE_API_URL },
    providers: {
      openai: { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL },
      anthropic: { apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL },
      gemini: { apiKey: e.GEMINI_API_KEY, baseUrl: e.GEMINI_BASE_URL },
      azure: {
        apiKey: e.AZURE_OPENAI_API_KEY || undefined,
        baseUrl: e.AZURE_OPENAI_ENDPOINT,
        apiVersion: e.AZURE_OPENAI_API_VERSION,
        deployments: e.AZURE_OPENAI_DEPLOYMENTS,
      },
      vertex,
      bedrock,
    },
    presets,
    tracing,
    allowedProviderHosts: e.TOLLGATE_ALLOWED_PROVIDER_HOSTS.split(",")
      .map((h) => h.trim())
      .filter(Boolean),
    adminEmails: e.TOLLGATE_ADMIN_EMAILS.split(",")
      .map((a) => a.trim().toLowerCase())
      .filter(Boolean),
    loginThrottle: { maxFailuresPerEmail: 10, maxFailuresPerIp: 50, windowSeconds: 15 * 60 },
    ...overrides,
  };
}
