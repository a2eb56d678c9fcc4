/**
 * Log destinations (owners and admins): create, list, pause/resume, delete.
 * Invariants:
 *  - the signing secret is generated here, returned once (the creation's
 *    response), stored sealed (secretbox, bound to the org and the row) and
 *    never in audit rows, logs or later responses (a hint only);
 *  - the URL passes the SSRF checks when saved (and again before each send,
 *    in the delivery loop);
 *  - a new destination receives the rows of requests that start after it was
 *    created: both cursors start at its creation;
 *  - at most MAX_DESTINATIONS_PER_ORG per organization (checked under the
 *    organization's row lock).
 */
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { newId, randomToken } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { assertCan } from "../../platform/permissions.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { checkWebhookUrl } from "../alerts/alerts.settings.js";
import { withOrgLock } from "../organizations/org-lock.js";
import * as repo from "./log-destinations.repo.js";
import {
  type CreateDestinationInput,
  type LogDestinationRow,
  MAX_DESTINATIONS_PER_ORG,
  sealContext,
} from "./log-destinations.schema.js";

export interface LogDestinationServiceDeps {
  db: Db;
  box: SecretBox;
  allowedHosts: readonly string[];
  /** The delivery loop's quick-request bound (the status explains the two cursors with it). */
  quickMs: number;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function createLogDestinationService(deps: LogDestinationServiceDeps) {
  const { db, box } = deps;

  function secretHint(d: LogDestinationRow): string {
    try {
      return `whsec_…${box.open(d.secretCiphertext, sealContext(d.orgId, d.id)).slice(-4)}`;
    } catch {
      return "(unreadable: create the destination again)";
    }
  }

  async function view(d: LogDestinationRow) {
    return {
      id: d.id,
      kind: d.kind,
      url: d.url,
      enabled: d.enabled,
      secretHint: secretHint(d),
      createdAt: d.createdAt.toISOString(),
      status: {
        state: !d.enabled ? ("paused" as const) : d.failures > 0 ? ("retrying" as const) : ("delivering" as const),
        deliveredThrough: d.cursorAt.toISOString(),
        longRequestsThrough: d.longCursorAt.toISOString(),
        quickSeconds: deps.quickMs / 1000,
        deliveredRows: d.deliveredRows,
        lastDeliveryAt: iso(d.lastDeliveryAt),
        backlog: await repo.backlog(db, d, deps.quickMs),
        deadLetteredRows: d.deadLetteredRows,
        deadLetteredBatches: d.deadLetteredBatches,
        failures: d.failures,
        nextAttemptAt: iso(d.nextAttemptAt),
        lastError: d.lastError,
        lastErrorAt: iso(d.lastErrorAt),
      },
    };
  }

  async function find(ctx: OrgContext, id: string): Promise<LogDestinationRow> {
    const d = await repo.getDestination(db, ctx.orgId, id);
    if (!d) throw appError("LOG_DESTINATION_NOT_FOUND");
    return d;
  }

  const auditEntry = (ctx: OrgContext, d: LogDestinationRow, action: string, extra: Record<string, unknown> = {}) => ({
    orgId: ctx.orgId,
    action,
    targetType: "log_destination",
    targetId: d.id,
    // The host only: a webhook URL's path can itself be a credential. Never the secret.
    metadata: { kind: d.kind, host: new URL(d.url).host, ...extra },
  });

  return {
    async list(ctx: OrgContext) {
      assertCan(ctx, "logDestination", "read");
      const rows = await repo.listDestinations(db, ctx.orgId);
      return { destinations: await Promise.all(rows.map(view)) };
    },

    async get(ctx: OrgContext, id: string) {
      assertCan(ctx, "logDestination", "read");
      return view(await find(ctx, id));
    },

    async create(ctx: OrgContext, body: CreateDestinationInput) {
      assertCan(ctx, "logDestination", "manage");
      const url = checkWebhookUrl(body.url, deps.allowedHosts);
      const secret = `whsec_${randomToken(32)}`;
      const row = await withOrgLock(db, ctx, "logDestination", "manage", async (tx, fresh) => {
        if ((await repo.countDestinations(tx, fresh.orgId)) >= MAX_DESTINATIONS_PER_ORG) {
          throw appError(
            "LOG_DESTINATION_LIMIT_REACHED",
            `An organization can have at most ${MAX_DESTINATIONS_PER_ORG} log destinations. Delete one first.`,
          );
        }
        const id = newId();
        const start = new Date();
        const saved = await repo.insertDestination(tx, {
          id,
          orgId: fresh.orgId,
          kind: body.kind,
          url,
          secretCiphertext: box.seal(secret, sealContext(fresh.orgId, id)),
          createdBy: fresh.userId,
          cursorAt: start,
          longCursorAt: start,
        });
        await recordAudit(tx, fresh, auditEntry(fresh, saved, "log_destination.created"));
        return saved;
      });
      return { ...(await view(row)), secret };
    },

    async update(ctx: OrgContext, id: string, body: { enabled: boolean }) {
      assertCan(ctx, "logDestination", "manage");
      const row = await db.transaction(async (tx) => {
        const saved = await repo.setEnabled(tx, ctx.orgId, id, body.enabled);
        if (!saved) throw appError("LOG_DESTINATION_NOT_FOUND");
        await recordAudit(tx, ctx, auditEntry(ctx, saved, "log_destination.updated", { enabled: body.enabled }));
        return saved;
      });
      return view(row);
    },

    async remove(ctx: OrgContext, id: string): Promise<void> {
      assertCan(ctx, "logDestination", "manage");
      await db.transaction(async (tx) => {
        const gone = await repo.deleteDestination(tx, ctx.orgId, id);
        if (!gone) throw appError("LOG_DESTINATION_NOT_FOUND");
        await recordAudit(tx, ctx, auditEntry(ctx, gone, "log_destination.deleted"));
      });
    },
  };
}

export type LogDestinationService = ReturnType<typeof createLogDestinationService>;
