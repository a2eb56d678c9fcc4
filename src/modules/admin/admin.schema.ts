/**
 * The operator console's table and bodies. An organization is disabled while
 * it has a row in `disabled_organizations` (when, by whom, why); enabling it
 * deletes the row, and the audit log keeps the history. The row goes with its
 * organization (ON DELETE CASCADE); the operator who disabled it may be
 * deleted (SET NULL) without the state changing: their email stays.
 */
import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { moneyFields } from "../../platform/money-fields.js";
import { usdField } from "../../platform/money-input.js";
import { SINGLE_LINE, SINGLE_LINE_MESSAGE } from "../../platform/routes.js";
import { organizations } from "../organizations/organizations.schema.js";

export const disabledOrganizations = pgTable("disabled_organizations", {
  orgId: text("org_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  disabledAt: timestamp("disabled_at", { withTimezone: true }).notNull().defaultNow(),
  disabledBy: text("disabled_by").references(() => users.id, { onDelete: "set null" }),
  disabledByEmail: text("disabled_by_email").notNull(),
  reason: text("reason").notNull(),
});

const note = z
  .string()
  .trim()
  .min(1, "Say why (it is shown in the transaction history and the audit log).")
  .max(500, "At most 500 characters.")
  .regex(SINGLE_LINE, SINGLE_LINE_MESSAGE);

export const creditsBody = z.strictObject({
  direction: z.enum(["grant", "deduct"]).describe("grant adds credits; deduct removes them (an adjustment)."),
  amountUsd: usdField({ max: "1000000" }).describe('USD, e.g. "25" or "0.50".'),
  note,
});

export const disableBody = z.strictObject({ reason: note });

export const disabledOut = z
  .object({ at: z.string(), by: z.string(), reason: z.string() })
  .nullable()
  .describe("Null while the organization is enabled.");

export const adminOrgOut = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  personal: z.boolean(),
  createdAt: z.string(),
  members: z.number().int(),
  ...moneyFields("balance"),
  ...moneyFields("monthUsage"),
  disabled: disabledOut,
});

export const adminOrgsOut = z.object({ organizations: z.array(adminOrgOut), monthStart: z.string() });

export const creditsOut = z.object({
  entryId: z.string(),
  ...moneyFields("amount"),
  ...moneyFields("balance"),
});

export const healthOut = z.object({
  status: z.enum(["ready", "draining", "unavailable"]),
  version: z.string(),
  uptimeSeconds: z.number().int(),
  database: z.object({ kind: z.enum(["pglite", "postgres"]), reachable: z.boolean() }),
  redis: z.string(),
  details: z.record(z.string(), z.string()),
});

export const orgStatusOut = z.object({ disabled: disabledOut });
