/**
 * The audit trail writer. Rows are written inside the transaction of the change
 * they describe, so a change and its audit row commit or roll back together.
 * The table is append-only (a trigger refuses UPDATE and DELETE) and keeps
 * `org_id` without a foreign key, so the trail of a deleted organization stays
 * readable for the instance operator. Metadata holds ids, names, roles and
 * emails only — never a secret. When an organization API token acts, the row
 * names the token (`actor_token_id`), not a person.
 */
import { auditLog } from "./audit.schema.js";
import type { DbOrTx } from "./db/db.js";

export interface AuditActor {
  userId: string | null;
  email: string | null;
  ip: string | null;
  /** The organization API token acting, if one is (an OrgContext carries it). */
  token?: { id: string } | null;
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
    actorUserId: actor.token ? null : actor.userId,
    actorEmail: actor.token ? null : actor.email,
    actorTokenId: actor.token?.id ?? null,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    metadata: entry.metadata ?? {},
    ip: actor.ip,
  });
}
