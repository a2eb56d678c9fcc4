/**
 * Custom providers: an organization's own model endpoints (vLLM, Ollama, a
 * company proxy, any OpenAI-, Anthropic- or Gemini-format API, an Azure
 * OpenAI resource, a Google Vertex AI project, an AWS account's Bedrock).
 * Invariants:
 *  - the API key and extra headers are stored only sealed (AES-256-GCM, bound
 *    to org id + provider id: `platform/secretbox.ts`); responses show a hint;
 *  - prices are integer micro-USD per million tokens (bigint as text in JSON),
 *    default 0 — an org can run internal charge-back at its own rates;
 *  - slug unique per org and never a built-in provider's name;
 *  - `settings` holds what only one format has (Azure OpenAI: the API version
 *    and the model → deployment names; Vertex AI: the project, the location
 *    and a token URL of its own); it is empty for every other format. A Vertex
 *    AI provider's service account key is its sealed credential, in the API
 *    key's place; Amazon Bedrock: the region and the access key id, its
 *    secret access key and session token being the sealed credential;
 *  - a provider made from a preset (an OpenAI-compatible vendor) keeps the
 *    preset's id in `settings`, and the model ids its `/models` listed there
 *    (`discovered`, priced as the preset says, beside the models entered);
 *  - a provider with several credentials keeps each one's id, weight, limit,
 *    endpoint and key hint in `settings` and the keys only in the sealed
 *    secret (`credentials`: id → key).
 */
import { jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { AZURE_API_VERSION, AZURE_DEFAULT_API_VERSION, AZURE_DEPLOYMENT_NAME } from "../../config-azure.js";
import { AWS_ACCESS_KEY_ID, BEDROCK_REGION } from "../../config-bedrock.js";
import { VERTEX_DEFAULT_LOCATION, VERTEX_LOCATION, VERTEX_PROJECT } from "../../config-vertex.js";
import { PRESET_IDS } from "../../config-presets.js";
import { usdField } from "../../platform/money-input.js";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";

export const PROVIDER_FORMATS = ["openai", "anthropic", "gemini", "azure", "vertex", "bedrock"] as const;
export const RESERVED_PROVIDER_SLUGS = new Set([
  "openai",
  "anthropic",
  "gemini",
  "google",
  "azure",
  "vertex",
  "bedrock",
  "mock",
  "tollgate",
  "v1",
]);

export interface StoredModel {
  id: string;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  inputMicroUsdPerM: string;
  cachedInputMicroUsdPerM: string;
  outputMicroUsdPerM: string;
}

/** Format-specific settings (Azure OpenAI's, Vertex AI's, Bedrock's; `{}` for the other formats). */
/** One of a provider's several credentials as stored (its key sealed apart, under its id). */
export interface CredentialMeta {
  id: string;
  hint: string;
  weight: number;
  rpm?: number;
  baseUrl?: string;
}

export interface ProviderSettings {
  /** The preset the provider was made from. */
  preset?: string;
  /** Model ids the upstream's list answered with (model discovery), and when. */
  discovered?: string[];
  discoveredAt?: string;
  /** Two or more credentials (absent: the sealed `apiKey` is the one credential). */
  credentials?: CredentialMeta[];
  apiVersion?: string;
  deployments?: Record<string, string>;
  project?: string;
  location?: string;
  tokenUrl?: string;
  region?: string;
  accessKeyId?: string;
}

/**
 * What a provider whose credential is no plain API key (Vertex AI's service account, Bedrock's AWS keys) saves:
 * its settings, its checked base URL, and a new credential to seal (absent: keep the stored one).
 */
export interface CredentialPlan {
  settings: ProviderSettings;
  baseUrl: string;
  key?: { json: string; hint: string };
}

/** The stored provider an update starts from, as the per-format planners read it. */
export interface StoredProviderBase {
  format: string;
  baseUrl: string;
  settings: ProviderSettings;
}

export const customProviders = pgTable(
  "custom_providers",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    format: text("format", { enum: PROVIDER_FORMATS }).notNull(),
    baseUrl: text("base_url").notNull(),
    /** secretbox payload of {"apiKey","headers"} */
    secret: text("secret").notNull(),
    apiKeyHint: text("api_key_hint").notNull(),
    headerNames: jsonb("header_names").$type<string[]>().notNull().default([]),
    models: jsonb("models").$type<StoredModel[]>().notNull().default([]),
    settings: jsonb("settings").$type<ProviderSettings>().notNull().default({}),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("custom_providers_org_slug_uq").on(t.orgId, t.slug)],
);

const price = usdField({ max: "1000000" }).optional().describe("USD per million tokens (at most 6 decimals).");
const modelId = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^\s/][^\s]*$/, "model ids have no spaces and do not start with /");
const modelIn = z.strictObject({
  id: modelId,
  contextWindow: z.number().int().positive().max(100_000_000).optional(),
  maxOutputTokens: z.number().int().positive().max(10_000_000).optional(),
  inputPricePerMillion: price,
  cachedInputPricePerMillion: price,
  outputPricePerMillion: price,
});
const slug = z
  .string()
  .min(2)
  .max(40)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "lowercase letters, digits and single hyphens")
  .refine((s) => !RESERVED_PROVIDER_SLUGS.has(s), "this name belongs to a built-in provider");
const FORBIDDEN_HEADERS =
  /^(host|content-length|content-type|connection|transfer-encoding|cookie|authorization|x-api-key|x-goog-api-key|anthropic-version)$/i;
const headers = z
  .record(
    z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "header names are letters, digits and hyphens"),
    z
      .string()
      .max(2000)
      .regex(/^[^\r\n]*$/, "no line breaks in header values"),
  )
  .refine(
    (h) => Object.keys(h).length <= 20 && Object.keys(h).every((k) => !FORBIDDEN_HEADERS.test(k)),
    "at most 20 headers; auth and transport headers are set by Tollgate",
  );

const apiVersion = z
  .string()
  .trim()
  .regex(AZURE_API_VERSION, "an API version like 2024-10-21 or 2025-04-01-preview")
  .describe(`Azure OpenAI only: the API version (default ${AZURE_DEFAULT_API_VERSION}).`);
const deployments = z
  .record(
    modelId,
    z.string().trim().regex(AZURE_DEPLOYMENT_NAME, "deployment names are 1 to 64 letters, digits, '-', '_' or '.'"),
  )
  .refine((d) => Object.keys(d).length <= 500, "at most 500 deployments")
  .describe(
    "Azure OpenAI only: model name (as clients send it, one of `models`) → deployment name; a model without one is called on a deployment of its own name.",
  );

const project = z
  .string()
  .trim()
  .regex(VERTEX_PROJECT, "a Google Cloud project id like my-project-123")
  .describe("Vertex AI only: the Google Cloud project.");
const location = z
  .string()
  .trim()
  .regex(VERTEX_LOCATION, "a Vertex AI location like us-central1, europe-west4 or global")
  .describe(`Vertex AI only: the location (default ${VERTEX_DEFAULT_LOCATION}).`);
const serviceAccountJson = z
  .string()
  .max(20_000)
  .describe("Vertex AI only: the service account's JSON key file, as downloaded (never returned).");
const tokenUrl = z
  .string()
  .max(500)
  .describe("Vertex AI only: the OAuth token endpoint (default: the key's token_uri, Google's); empty resets it.");

const region = z
  .string()
  .trim()
  .regex(BEDROCK_REGION, "an AWS region like us-east-1 or eu-central-1")
  .describe("Amazon Bedrock only: the AWS region of the Bedrock runtime.");
const accessKeyId = z
  .string()
  .trim()
  .regex(AWS_ACCESS_KEY_ID, "an AWS access key id like AKIA… or ASIA… (capital letters and digits)")
  .describe("Amazon Bedrock only: the access key id (shown as the hint).");
const secretAccessKey = z
  .string()
  .min(1)
  .max(1000)
  .describe("Amazon Bedrock only: the secret access key (sent with accessKeyId; never returned).");
const sessionToken = z
  .string()
  .max(4000)
  .describe("Amazon Bedrock only: the STS session token of temporary credentials (never returned).");
const credentialIn = z.strictObject({
  id: z
    .string()
    .max(64)
    .optional()
    .describe("A stored credential's id (from the provider's `credentials`): keeps its key unless apiKey is sent."),
  apiKey: z.string().min(1).max(4000).optional().describe("The key (required for a new credential; never returned)."),
  baseUrl: z
    .string()
    .max(500)
    .optional()
    .describe("This credential's own endpoint, e.g. another region's Azure OpenAI resource (default: the provider's)."),
  weight: z.number().int().min(1).max(1000).default(1).describe("Relative share of the traffic."),
  rpm: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .optional()
    .describe("Requests per minute this credential takes at most (over it, calls go to the others)."),
});
export type CredentialInput = z.infer<typeof credentialIn>;
const credentials = z
  .array(credentialIn)
  .min(1)
  .max(20)
  .describe(
    "Several credentials (OpenAI, Anthropic, Gemini and Azure OpenAI formats): each call goes to one, picked by weight, and fails over to the next before its first byte. Replaces apiKey.",
  );

const bedrockFields = {
  region: region.optional(),
  accessKeyId: accessKeyId.optional(),
  secretAccessKey: secretAccessKey.optional(),
  sessionToken: sessionToken.optional(),
};

export const createProviderBody = z
  .strictObject({
    preset: z
      .enum(PRESET_IDS)
      .optional()
      .describe(
        "An OpenAI-compatible vendor's preset (GET /api/v1/provider-presets): sets the format, name, slug and base URL unless sent, and lists the vendor's models.",
      ),
    name: z.string().trim().min(1).max(100).optional().describe("Required, except with a preset."),
    slug: slug.optional(),
    format: z.enum(PROVIDER_FORMATS).optional().describe("Required, except with a preset (openai)."),
    baseUrl: z
      .string()
      .max(500)
      .default("")
      .describe("Required, except for Vertex AI (the location's endpoint) and Amazon Bedrock (the region's)."),
    apiKey: z.string().max(4000).default(""),
    credentials: credentials.optional(),
    headers: headers.optional(),
    models: z.array(modelIn).max(500).default([]),
    apiVersion: apiVersion.optional(),
    deployments: deployments.optional(),
    project: project.optional(),
    location: location.optional(),
    serviceAccountJson: serviceAccountJson.optional(),
    tokenUrl: tokenUrl.optional(),
    ...bedrockFields,
  })
  .superRefine((b, ctx) => {
    if (b.preset) return;
    if (!b.name) ctx.addIssue({ code: "custom", path: ["name"], message: "Required (unless a preset names it)." });
    if (!b.format) ctx.addIssue({ code: "custom", path: ["format"], message: "Required (unless a preset sets it)." });
  });
export const updateProviderBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    slug: slug.optional(),
    format: z.enum(PROVIDER_FORMATS).optional(),
    baseUrl: z.string().max(500).optional(),
    apiKey: z.string().max(4000).optional(),
    credentials: credentials.optional(),
    headers: headers.optional(),
    models: z.array(modelIn).max(500).optional(),
    apiVersion: apiVersion.optional(),
    deployments: deployments.optional(),
    project: project.optional(),
    location: location.optional(),
    serviceAccountJson: serviceAccountJson.optional(),
    tokenUrl: tokenUrl.optional(),
    ...bedrockFields,
  })
  .refine((b) => Object.keys(b).length > 0, "Send at least one field.");

export type CreateProviderInput = z.infer<typeof createProviderBody>;
export type UpdateProviderInput = z.infer<typeof updateProviderBody>;

const modelOut = z.object({
  id: z.string(),
  contextWindow: z.number().nullable(),
  maxOutputTokens: z.number().nullable(),
  inputPricePerMillionUsd: z.string(),
  cachedInputPricePerMillionUsd: z.string(),
  outputPricePerMillionUsd: z.string(),
});
export const providerOut = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  format: z.enum(PROVIDER_FORMATS),
  baseUrl: z.string(),
  apiKeyHint: z.string(),
  headerNames: z.array(z.string()),
  models: z.array(modelOut),
  /** Azure OpenAI only. */
  apiVersion: z.string().optional(),
  /** Azure OpenAI only: model → deployment. */
  deployments: z.record(z.string(), z.string()).optional(),
  /** Vertex AI only (the key's client_email is the hint). */
  project: z.string().optional(),
  location: z.string().optional(),
  tokenUrl: z.string().optional(),
  /** Amazon Bedrock only (the access key id is the hint too). */
  region: z.string().optional(),
  accessKeyId: z.string().optional(),
  /** The preset the provider was made from. */
  preset: z.enum(PRESET_IDS).optional(),
  /** Several credentials: each one's id, key hint, weight, limit and endpoint (never the key). */
  credentials: z
    .array(
      z.object({
        id: z.string(),
        hint: z.string(),
        weight: z.number(),
        rpm: z.number().nullable(),
        baseUrl: z.string().nullable(),
      }),
    )
    .optional(),
  /** The models the upstream listed (model discovery), each priced as the preset says (the entered models win). */
  discoveredModels: z.array(modelOut.extend({ priced: z.boolean() })).optional(),
  discoveredAt: z.string().nullable().optional(),
  /** Create and discovery only: what listing the upstream's models gave. */
  discovery: z
    .object({
      ok: z.boolean(),
      count: z.number(),
      source: z.enum(["upstream", "price-library"]).nullable(),
      error: z.string().nullable(),
    })
    .optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const probeError = z.object({ kind: z.string(), status: z.number().nullable(), message: z.string() }).nullable();
export const testResultOut = z.object({
  ok: z.boolean(),
  latencyMs: z.number(),
  model: z.string().nullable(),
  error: probeError,
  /** Several credentials: each one tested. */
  credentials: z
    .array(z.object({ id: z.string(), ok: z.boolean(), latencyMs: z.number(), error: probeError }))
    .optional(),
});
export const presetOut = z.object({
  id: z.string(),
  name: z.string(),
  baseUrl: z.string(),
  selfHosted: z.boolean(),
  /** The price library prices its models. */
  priced: z.boolean(),
  keysUrl: z.string().nullable(),
});
