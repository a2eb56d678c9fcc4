/**
 * The audit trail writer. Rows are written inside the transaction of the change
 * they describe, so a change and its audit row commit or roll back together.
 * The table is append-only (a trigger refuses UPDATE and DELETE) and keeps
 * `org_id` without a foreign key, so the trail of a deleted organization stays
 * readable for the instance operator. Metadata holds ids, names, roles and
 * emails only — never a secret.
 */
import { bigserial, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import type { DbOrTx } from "./db/db.js";

export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    orgId: text("org_id").notNull(),
    actorUserId: text("actor_user_id"),
    actorEmail: text("actor_email"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    ip: text("ip"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("audit_org_time_idx").on(t.orgId, t.id)],
);

export interface AuditActor {
  userId: string | null;
  email: string | null;
  ip: string | null;
}

export interface AuditEntry {
  orgId: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  metadata?: Record<string, unknown>;
}

/** The actor recorded for operator actions taken from the CLI. */
export const SYSTEM_ACTOR: AuditActor = { userId: null, email: "system", ip: null };

export async function recordAudit(db: DbOrTx, actor: AuditActor, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    orgId: entry.orgId,
    actorUserId: actor.userId,
    actorEmail: actor.email,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    metadata: entry.metadata ?? {},
    ip: actor.ip,
  });
}
