/**
 * Custom provider rules (owner, admin). The base URL (and a Vertex AI token
 * URL) is checked against SSRF rules at save time (the gateway's dispatcher
 * checks the resolved address again at connect time); the key (a Vertex AI
 * service account key, a Bedrock secret access key and session token
 * included) is sealed before it touches the database and
 * never returned; every change is audited without the key and drops the org's
 * routing cache. A provider may be made from a preset (providers.presets.ts,
 * which also lists an upstream's models) and may have several credentials
 * (providers.credentials.ts).
 */
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { newId } from "../../platform/crypto.js";
import { type Db, isUniqueViolation } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import { assertCan } from "../../platform/permissions.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { PROVIDER_PRESETS, presetById } from "../../config-presets.js";
import type { ProviderEntry } from "../../gateway/catalog.js";
import type { ProbeResult } from "../../gateway/gateway.js";
import { validateBaseUrl } from "../../gateway/net/ssrf.js";
import { azureSettings, providerSettings } from "./providers.azure.js";
import { bedrockOut, bedrockProvider } from "./providers.bedrock.js";
import { credentialsOut, keyHint, planCredentials, storedCredentials } from "./providers.credentials.js";
import { type ProviderDirectory, type SealedSecret, sealContext, toEntry } from "./providers.directory.js";
import { type Discovery, discoverModels, presetOut, withPreset } from "./providers.presets.js";
import { vertexProvider, vertexSettings } from "./providers.vertex.js";
import * as repo from "./providers.repo.js";
import type { CreateProviderInput, StoredModel, UpdateProviderInput } from "./providers.schema.js";

type ModelInput = NonNullable<CreateProviderInput["models"]>[number];

const perMillion = (micro: bigint | undefined): string => (micro ?? 0n).toString();

function toStoredModels(models: ModelInput[]): StoredModel[] {
  const seen = new Set<string>();
  return models.map((m) => {
    if (seen.has(m.id)) throw appError("DUPLICATE_MODEL", `Model "${m.id}" is listed twice.`);
    seen.add(m.id);
    return {
      id: m.id,
      contextWindow: m.contextWindow ?? null,
      maxOutputTokens: m.maxOutputTokens ?? null,
      inputMicroUsdPerM: perMillion(m.inputPricePerMillion),
      cachedInputMicroUsdPerM: perMillion(m.cachedInputPricePerMillion ?? m.inputPricePerMillion),
      outputMicroUsdPerM: perMillion(m.outputPricePerMillion),
    };
  });
}

export function providerOut(r: repo.ProviderRow) {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    format: r.format,
    baseUrl: r.baseUrl,
    apiKeyHint: r.apiKeyHint,
    headerNames: r.headerNames,
    ...azureSettings(r.format, r.settings),
    ...vertexSettings(r.format, r.settings),
    ...bedrockOut(r.format, r.settings),
    ...presetOut(r.settings),
    ...credentialsOut(r.settings),
    models: r.models.map((m) => ({
      id: m.id,
      contextWindow: m.contextWindow,
      maxOutputTokens: m.maxOutputTokens,
      inputPricePerMillionUsd: formatUsd(BigInt(m.inputMicroUsdPerM)),
      cachedInputPricePerMillionUsd: formatUsd(BigInt(m.cachedInputMicroUsdPerM)),
      outputPricePerMillionUsd: formatUsd(BigInt(m.outputMicroUsdPerM)),
    })),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

const NO_KEY = "(none)";
const hint = (key: string) => (key ? keyHint(key) : NO_KEY);
const credentialsHint = (n: number) => `${n} credential${n === 1 ? "" : "s"}`;
const slugFrom = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40) || "provider";

/** Models a vendor lists that a one-token chat request cannot test (speech, embeddings, images, moderation). */
const NOT_CHAT = /embed|whisper|tts|transcri|speech|audio|image|dall-e|moderation|guard|rerank/i;
const firstChatModel = (ids: string[] | undefined) => ids?.find((id) => !NOT_CHAT.test(id));

export function createProviderService(deps: {
  db: Db;
  box: SecretBox;
  directory: ProviderDirectory;
  allowedHosts: string[];
  probe(entry: ProviderEntry, model: string | null): Promise<ProbeResult>;
  /** The model ids the provider's upstream lists. */
  listModels(entry: ProviderEntry): Promise<string[]>;
}) {
  const { db } = deps;

  /** `what`: a Vertex AI token URL, checked by the same rules. */
  function checkUrl(url: string, what?: "token"): string {
    const check = validateBaseUrl(url, deps.allowedHosts);
    if (!check.ok)
      throw appError(
        `BASE_URL_${check.code.toUpperCase() as Uppercase<typeof check.code>}`,
        what ? check.message.replace(/^The base URL/, "The token URL") : check.message,
      );
    return check.url.toString().replace(/\/+$/, "");
  }

  async function load(ctx: OrgContext, slug: string) {
    const row = await repo.getBySlug(db, ctx.orgId, slug);
    if (!row) throw appError("PROVIDER_NOT_FOUND", `No custom provider "${slug}" in this organization.`);
    return row;
  }

  /** Lists the provider's upstream models and keeps them (audited); the provider with what the listing gave. */
  async function discover(ctx: OrgContext, row: repo.ProviderRow) {
    const { ids, discovery } = await discoverModels(row.format, presetById(row.settings.preset), () =>
      deps.listModels(toEntry(row, deps.box)),
    );
    const settings = { ...row.settings, discovered: ids, discoveredAt: new Date().toISOString() };
    const out = await db.transaction(async (tx) => {
      const updated = await repo.update(tx, ctx.orgId, row.id, { settings });
      await recordAudit(tx, ctx, {
        orgId: ctx.orgId,
        action: "provider.models_discovered",
        targetType: "provider",
        targetId: row.id,
        metadata: { slug: row.slug, count: ids.length, source: discovery.source },
      });
      return updated;
    });
    deps.directory.invalidate(ctx.orgId);
    return { ...providerOut(out), discovery };
  }

  const slugTaken = (slug: string) =>
    appError("PROVIDER_SLUG_TAKEN", `A provider "${slug}" already exists in this organization.`);

  return {
    async list(ctx: OrgContext) {
      assertCan(ctx, "provider", "read");
      return (await repo.listForOrg(db, ctx.orgId)).map(providerOut);
    },

    async get(ctx: OrgContext, slug: string) {
      assertCan(ctx, "provider", "read");
      return providerOut(await load(ctx, slug));
    },

    async create(ctx: OrgContext, body: CreateProviderInput) {
      assertCan(ctx, "provider", "manage");
      const { preset, format, name, ...p } = withPreset(body);
      const creds = planCredentials(body, format, checkUrl);
      // Vertex AI's and Bedrock's credentials are no plain API key: their plans have one shape.
      const plan = vertexProvider(body, format, checkUrl) ?? bedrockProvider(body, format, checkUrl);
      const baseUrl = plan?.baseUrl ?? checkUrl(p.baseUrl);
      const models = toStoredModels(body.models);
      const settings = {
        ...providerSettings(body, { format, baseUrl, models, hasKey: body.apiKey !== "" || !!creds }),
        ...plan?.settings,
        ...(preset ? { preset: preset.id } : {}),
        ...(creds ? { credentials: creds.meta } : {}),
      };
      const apiKey = plan?.key?.json ?? body.apiKey;
      const id = newId();
      const slug = p.slug ?? slugFrom(name);
      const secret: SealedSecret = {
        apiKey,
        headers: body.headers ?? {},
        ...(creds ? { credentials: creds.keys } : {}),
      };
      let row: repo.ProviderRow;
      try {
        row = await db.transaction(async (tx) => {
          const out = await repo.insert(tx, {
            id,
            orgId: ctx.orgId,
            slug,
            name,
            format,
            baseUrl,
            secret: deps.box.seal(JSON.stringify(secret), sealContext(ctx.orgId, id)),
            apiKeyHint: creds ? credentialsHint(creds.meta.length) : (plan?.key?.hint ?? hint(body.apiKey)),
            headerNames: Object.keys(body.headers ?? {}),
            models,
            settings,
            createdBy: ctx.userId,
          });
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "provider.created",
            targetType: "provider",
            targetId: id,
            metadata: { slug, format, baseUrl, models: models.map((m) => m.id), ...settings },
          });
          return out;
        });
      } catch (err) {
        if (isUniqueViolation(err, "custom_providers_org_slug_uq")) throw slugTaken(slug);
        throw err;
      }
      deps.directory.invalidate(ctx.orgId);
      if (!preset) return providerOut(row);
      // A preset's models are listed at once; a failed listing leaves the provider saved and says why.
      try {
        return await discover(ctx, row);
      } catch (err) {
        const error = (err as Error).message;
        return { ...providerOut(row), discovery: { ok: false, count: 0, source: null, error } satisfies Discovery };
      }
    },

    async update(ctx: OrgContext, slug: string, body: UpdateProviderInput) {
      assertCan(ctx, "provider", "manage");
      const current = await load(ctx, slug);
      const patch: Parameters<typeof repo.update>[3] = {};
      if (body.name !== undefined) patch.name = body.name;
      if (body.slug !== undefined) patch.slug = body.slug;
      if (body.format !== undefined) patch.format = body.format;
      const format = body.format ?? current.format;
      // The secret is opened only when it changes (a rename works even if it can no longer be read).
      let opened: SealedSecret | undefined;
      const secret = () =>
        (opened ??= JSON.parse(deps.box.open(current.secret, sealContext(ctx.orgId, current.id))) as SealedSecret);
      const keysSent = body.apiKey !== undefined || body.headers !== undefined || body.credentials !== undefined;
      const stored = storedCredentials(current.settings, keysSent ? secret().credentials : undefined);
      const creds = planCredentials(body, format, checkUrl, stored);
      const credsAfter = creds === undefined ? stored : (creds ?? undefined);
      const plan = vertexProvider(body, format, checkUrl, current) ?? bedrockProvider(body, format, checkUrl, current);
      if (plan) patch.baseUrl = plan.baseUrl;
      else if (body.baseUrl !== undefined) patch.baseUrl = checkUrl(body.baseUrl);
      if (body.models !== undefined) patch.models = toStoredModels(body.models);
      // A Vertex AI provider's key is its service account key, a Bedrock one's its AWS secret; one leaving the
      // format drops it (it is no API key).
      const leaving = current.format === "vertex" || current.format === "bedrock";
      const apiKey = plan ? plan.key?.json : leaving ? (body.apiKey ?? "") : body.apiKey;
      if (apiKey !== undefined || body.headers !== undefined || creds !== undefined) {
        const old = secret();
        const next: SealedSecret = {
          apiKey: credsAfter ? "" : (apiKey ?? old.apiKey),
          headers: body.headers ?? old.headers,
          ...(credsAfter ? { credentials: creds ? creds.keys : (old.credentials ?? {}) } : {}),
        };
        patch.secret = deps.box.seal(JSON.stringify(next), sealContext(ctx.orgId, current.id));
        patch.apiKeyHint = credsAfter
          ? credentialsHint(credsAfter.meta.length)
          : plan
            ? (plan.key?.hint ?? current.apiKeyHint)
            : hint(next.apiKey);
        patch.headerNames = Object.keys(next.headers);
      }
      // A preset and its discovered models stay with the OpenAI format; credentials as planned.
      const { preset, discovered, discoveredAt } = current.settings;
      patch.settings = {
        ...providerSettings(
          body,
          {
            format: patch.format ?? current.format,
            baseUrl: patch.baseUrl ?? current.baseUrl,
            models: patch.models ?? current.models,
            hasKey: !!credsAfter || (patch.apiKeyHint ?? current.apiKeyHint) !== NO_KEY,
          },
          current.settings,
        ),
        ...plan?.settings,
        ...(format === "openai" ? { preset, discovered, discoveredAt } : {}),
        ...(credsAfter ? { credentials: credsAfter.meta } : {}),
      };
      try {
        const row = await db.transaction(async (tx) => {
          const out = await repo.update(tx, ctx.orgId, current.id, patch);
          const changed = Object.keys(body).map((k) =>
            ["apiKey", "serviceAccountJson", "secretAccessKey", "sessionToken"].includes(k) ? `${k} (replaced)` : k,
          );
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "provider.updated",
            targetType: "provider",
            targetId: current.id,
            metadata: { slug: out.slug, changed },
          });
          return out;
        });
        deps.directory.invalidate(ctx.orgId);
        return providerOut(row);
      } catch (err) {
        if (isUniqueViolation(err, "custom_providers_org_slug_uq")) throw slugTaken(body.slug ?? slug);
        throw err;
      }
    },

    /** Lists the provider's models at its upstream again (OpenAI format). */
    async discover(ctx: OrgContext, slug: string) {
      assertCan(ctx, "provider", "manage");
      return discover(ctx, await load(ctx, slug));
    },

    /** The presets an organization can add a provider from. */
    presets() {
      return PROVIDER_PRESETS.map((p) => ({
        id: p.id,
        name: p.name,
        baseUrl: p.baseUrl,
        selfHosted: p.selfHosted,
        priced: p.pricedAs !== undefined,
        keysUrl: p.keysUrl ?? null,
      }));
    },

    async remove(ctx: OrgContext, slug: string) {
      assertCan(ctx, "provider", "manage");
      const current = await load(ctx, slug);
      await db.transaction(async (tx) => {
        await repo.remove(tx, ctx.orgId, current.id);
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "provider.deleted",
          targetType: "provider",
          targetId: current.id,
          metadata: { slug },
        });
      });
      deps.directory.invalidate(ctx.orgId);
    },

    /**
     * Test connection: one tiny request to the model named, else the first entered model, else the first
     * discovered one that looks like a chat model; through the guarded dispatcher.
     */
    async test(ctx: OrgContext, slug: string, model?: string) {
      assertCan(ctx, "provider", "manage");
      const row = await load(ctx, slug);
      const entry = toEntry(row, deps.box);
      const target = model ?? row.models[0]?.id ?? firstChatModel(row.settings.discovered) ?? null;
      if (model && !entry.models.has(model))
        throw appError("MODEL_NOT_FOUND", `Provider "${slug}" has no model "${model}".`);
      return deps.probe(entry, target);
    },
  };
}

export type ProviderService = ReturnType<typeof createProviderService>;
