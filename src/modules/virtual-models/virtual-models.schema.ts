/**
 * Virtual models: names an organization defines that clients send as `model`
 * (taking precedence over bare-name resolution, so `gpt-4o` can mean "our
 * Azure deployment"), each resolving to targets with a strategy. Invariants:
 *  - a name is unique per organization and has no `/` (it never shadows a
 *    `provider/model`);
 *  - targets are `provider/model` names (or bare names), 1 to 10, each with a
 *    positive weight (weighted strategy) and optional parameter overrides
 *    from a fixed list of request fields;
 *  - what a target resolves to is decided per request, like any model name:
 *    a target that no longer resolves or the project may not use is skipped.
 */
import { jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";

export const VIRTUAL_STRATEGIES = ["fallback", "weighted", "least-latency"] as const;

export interface StoredTarget {
  model: string;
  weight: number;
  params?: Record<string, unknown>;
}

export const virtualModels = pgTable(
  "virtual_models",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    strategy: text("strategy", { enum: VIRTUAL_STRATEGIES }).notNull(),
    targets: jsonb("targets").$type<StoredTarget[]>().notNull(),
    description: text("description").notNull().default(""),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("virtual_models_org_name_uq").on(t.orgId, t.name)],
);

export type VirtualModelRow = typeof virtualModels.$inferSelect;

const name = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "letters, digits, '.', '_', ':' and '-' (no '/': it names a provider)");
const params = z
  .strictObject({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: z.number().int().min(1).max(10_000_000).optional(),
    max_completion_tokens: z.number().int().min(1).max(10_000_000).optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
    seed: z.number().int().optional(),
    stop: z.union([z.string().max(200), z.array(z.string().max(200)).max(4)]).optional(),
    reasoning_effort: z.enum(["minimal", "low", "medium", "high"]).optional(),
  })
  .describe("Request fields this target overrides (sampling and limits).");
const target = z.strictObject({
  model: z.string().trim().min(1).max(300).describe("A `provider/model` name (or a bare model name)."),
  weight: z.number().int().min(1).max(1000).default(1).describe("Share of the traffic (weighted strategy)."),
  params: params.optional(),
});

export const virtualModelBody = z.strictObject({
  name,
  strategy: z
    .enum(VIRTUAL_STRATEGIES)
    .describe(
      "fallback: the targets in order; weighted: one picked by weight, the others as fallbacks; least-latency: the fastest first (median over the last minutes).",
    ),
  targets: z.array(target).min(1).max(10),
  description: z.string().max(500).default(""),
});
export const updateVirtualModelBody = virtualModelBody.partial().refine((b) => Object.keys(b).length > 0, {
  message: "Send at least one field.",
});
export type VirtualModelInput = z.infer<typeof virtualModelBody>;
export type UpdateVirtualModelInput = z.infer<typeof updateVirtualModelBody>;

export const virtualModelOut = z.object({
  id: z.string(),
  name: z.string(),
  strategy: z.enum(VIRTUAL_STRATEGIES),
  targets: z.array(
    z.object({ model: z.string(), weight: z.number(), params: z.record(z.string(), z.unknown()).nullable() }),
  ),
  description: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
