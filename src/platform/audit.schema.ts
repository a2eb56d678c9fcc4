/** The audit-log table (append-only; see audit.ts and the migration's triggers). */
import { bigserial, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    orgId: text("org_id").notNull(),
    actorUserId: text("actor_user_id"),
    actorEmail: text("actor_email"),
    /** Set when an organization API token acted (then the user columns are null). */
    actorTokenId: text("actor_token_id"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    ip: text("ip"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("audit_org_time_idx").on(t.orgId, t.id)],
);
