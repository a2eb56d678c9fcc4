/**
 * Re-pricing for `tollgate billing verify`: every request log row that carries a
 * charge (`cost_micro_usd` set, `model_served` = "provider/model"), in the hours
 * the usage reconciliation compares, is priced again from its tokens (input,
 * cached input, output and `usage_details`) with today's prices, decided as the
 * gateway decides them (`gateway/metering/pricing.ts`: the organization's custom
 * providers, operator overrides and markup, the price library). A row charged
 * BELOW that price is under-billed. A charge above it is not a failure: a stream
 * aborted before the provider reported usage is billed on an estimate that
 * rounds up. Rows whose route no longer exists (a deleted custom provider or
 * model) or has no price today are counted as not re-priced. Response-cache
 * hits are left out: they are billed at the operator's hit price, a share of
 * the usage's price, not at the price itself.
 *
 * Logs are read per project by keyset pagination on (created_at, id), the order
 * of the project/time index, BATCH_SIZE rows a query: memory stays flat however
 * many logs there are.
 */
import { sql } from "drizzle-orm";
import { PRESET_IDS } from "../../config-presets.js";
import { libraryModel, modelInfo, type ProviderEntry } from "../../gateway/catalog.js";
import { costMicroUsd } from "../../gateway/metering/cost.js";
import { createPricing, type EffectivePrice, type PricingOptions } from "../../gateway/metering/pricing.js";
import type { Usage } from "../../gateway/types.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { USAGE_DETAIL_KEYS, type UsageDetails } from "../logs/logs.schema.js";
import { rowRouting } from "../providers/providers.directory.js";
import * as providersRepo from "../providers/providers.repo.js";

const BATCH_SIZE = 5_000;
const EXAMPLES = 5;
/** Providers served without a custom provider row (their prices come from the library or the operator). */
const BUILT_IN = new Set(["openai", "anthropic", "gemini", "azure", "vertex", "bedrock", "mock", ...PRESET_IDS]);

/** What repricing needs of a custom provider: its models and whether it takes other names (a preset's). */
type CustomModels = Pick<ProviderEntry, "slug" | "models" | "openModelList" | "preset">;

export interface RepriceWindow {
  orgId: string;
  projectId: string;
  from: Date;
  through: Date;
}

export interface UnderBilledRow {
  requestId: string;
  createdAt: string;
  model: string;
  chargedMicroUsd: bigint;
  repricedMicroUsd: bigint;
}

export interface ProjectRepricing extends RepriceWindow {
  /** Rows priced again. */
  repriced: number;
  /** Rows that could not be priced again, per reason. */
  notRepriced: Map<string, number>;
  underBilled: number;
  shortfallMicroUsd: bigint;
  /** The first under-billed rows, oldest first. */
  examples: UnderBilledRow[];
}

type Rows<T> = { rows: T[] };
interface LogRow {
  id: string;
  at: string;
  model: string;
  i: number;
  c: number;
  o: number;
  d: UsageDetails | string | null;
  cost: string;
}

/** An organization's custom providers' prices: slug → model id → price (as the gateway's directory reads them). */
async function customPrices(db: DbOrTx, orgId: string): Promise<Map<string, CustomModels>> {
  const out = new Map<string, CustomModels>();
  for (const r of await providersRepo.listForOrg(db, orgId)) out.set(r.slug, rowRouting(r));
  return out;
}

/** The usage a log row records, as the gateway metered it. */
function usageOf(r: LogRow): Usage {
  const u: Usage = { inputTokens: Number(r.i), cachedInputTokens: Number(r.c), outputTokens: Number(r.o) };
  const d = (typeof r.d === "string" ? JSON.parse(r.d) : r.d) as Record<string, unknown> | null;
  if (d) {
    for (const k of USAGE_DETAIL_KEYS) {
      const v = d[k];
      if (typeof v === "number" && Number.isFinite(v)) u[k] = v;
    }
  }
  return u;
}

export async function repriceLogs(
  db: DbOrTx,
  windows: RepriceWindow[],
  pricingOptions: PricingOptions,
  opts: { batchSize?: number } = {},
): Promise<ProjectRepricing[]> {
  const pricing = createPricing(pricingOptions);
  const batch = opts.batchSize ?? BATCH_SIZE;
  const out: ProjectRepricing[] = [];
  // Per organization: its custom providers and each served model's price (or why there is none).
  let orgId: string | null = null;
  let custom = new Map<string, CustomModels>();
  const priceOf = new Map<string, EffectivePrice | string>();

  const resolve = (served: string): EffectivePrice | string => {
    const slash = served.indexOf("/");
    const slug = served.slice(0, slash);
    const model = served.slice(slash + 1);
    const provider = custom.get(slug);
    let price: EffectivePrice | null;
    if (provider) {
      const info = modelInfo(provider, model);
      if (info === undefined) return `model "${model}" no longer on custom provider "${slug}"`;
      price = pricing.of({ provider: slug, model, custom: true, prices: info?.prices ?? null });
    } else if (BUILT_IN.has(slug)) {
      price = pricing.of({
        provider: slug,
        model,
        custom: false,
        prices: slug === "mock" ? null : (libraryModel(slug, model)?.prices ?? null),
      });
    } else return `custom provider "${slug}" deleted`;
    if (price) return price;
    // As the gateway settles an unpriced route when the operator lets it through: at 0.
    return pricing.allowUnpriced
      ? {
          prices: { inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n },
          markup: 0n,
          free: true,
        }
      : `"${served}" has no price today`;
  };

  for (const w of [...windows].sort((a, b) => a.orgId.localeCompare(b.orgId))) {
    if (w.orgId !== orgId) {
      orgId = w.orgId;
      custom = await customPrices(db, w.orgId);
      priceOf.clear();
    }
    const p: ProjectRepricing = {
      ...w,
      repriced: 0,
      notRepriced: new Map(),
      underBilled: 0,
      shortfallMicroUsd: 0n,
      examples: [],
    };
    let after: { at: string; id: string } | null = null;
    for (;;) {
      // created_at travels as text: a JS Date would drop the microseconds the keyset needs.
      const res = (await db.execute(sql`
        select id, created_at::text as at, model_served as model, input_tokens as i, cached_input_tokens as c, output_tokens as o, usage_details as d, cost_micro_usd::text as cost
        from request_logs
        where project_id = ${w.projectId} and org_id = ${w.orgId}
          and created_at >= ${w.from.toISOString()}::timestamptz and created_at < ${w.through.toISOString()}::timestamptz
          ${after ? sql`and (created_at, id) > (${after.at}::timestamptz, ${after.id})` : sql``}
          and cost_micro_usd is not null and strpos(model_served, '/') > 1 and cache is distinct from 'hit'
        order by created_at, id
        limit ${batch}`)) as unknown as Rows<LogRow>;
      for (const r of res.rows) {
        let price = priceOf.get(r.model);
        if (price === undefined) {
          price = resolve(r.model);
          priceOf.set(r.model, price);
        }
        if (typeof price === "string") {
          p.notRepriced.set(price, (p.notRepriced.get(price) ?? 0) + 1);
          continue;
        }
        p.repriced++;
        const repriced = price.free ? 0n : costMicroUsd(usageOf(r), price.prices, price.markup);
        const charged = BigInt(r.cost);
        if (charged >= repriced) continue;
        p.underBilled++;
        p.shortfallMicroUsd += repriced - charged;
        if (p.examples.length < EXAMPLES)
          p.examples.push({
            requestId: r.id,
            createdAt: r.at,
            model: r.model,
            chargedMicroUsd: charged,
            repricedMicroUsd: repriced,
          });
      }
      if (res.rows.length < batch) break;
      const last = res.rows[res.rows.length - 1]!;
      after = { at: last.at, id: last.id };
    }
    out.push(p);
  }
  return out;
}

/** Organizations whose balance is below zero (the cached balance the gateway admits requests against). */
export async function negativeBalances(
  db: DbOrTx,
): Promise<Array<{ orgId: string; slug: string | null; balanceMicroUsd: bigint }>> {
  const res = (await db.execute(sql`
    select a.org_id, o.slug, a.balance_micro_usd::text as balance
    from billing_accounts a left join organizations o on o.id = a.org_id
    where a.balance_micro_usd < 0 order by a.org_id`)) as unknown as Rows<{
    org_id: string;
    slug: string | null;
    balance: string;
  }>;
  return res.rows.map((r) => ({ orgId: r.org_id, slug: r.slug, balanceMicroUsd: BigInt(r.balance) }));
}
