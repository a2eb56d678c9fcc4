/**
 * Shared security policies and the incident trail.
 * Invariants:
 *  - everyone in the org reads the org policy; owners/admins replace it;
 *    project routes go through resolveProject (members: assigned projects
 *    only, 404 otherwise);
 *  - a project override may only tighten: a PUT with any looser field is
 *    refused (422 POLICY_LOOSENS_ORG, naming the fields) and nothing is stored;
 *  - every change writes its audit row in its transaction (settings summary,
 *    no rule patterns) and, after commit, drops the gateway's cached scanners
 *    of the org on every replica (invalidation bus, scope "policies");
 *  - incidents are read and reviewed by owners/admins; they carry masked
 *    excerpts only.
 */
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { assertCan } from "../../platform/permissions.js";
import {
  effectivePolicy,
  loosenings,
  orgPolicySchema,
  projectOverrideSchema,
  type EffectivePolicy,
  type OrgPolicy,
  type ProjectOverride,
} from "../../gateway/security/index.js";
import type { CacheInvalidationBus } from "../../platform/invalidation-bus.js";
import { resolveProject } from "../projects/projects.service.js";
import * as repo from "./policies.repo.js";
import type { IncidentsQuery } from "./policies.schema.js";

/**
 * An org that has not set a policy has everything off (the schema's defaults):
 * the gateway then scans nothing and streams are not held back. DEFAULT_POLICY
 * is the recommended starting point an admin can PUT (docs/security.md).
 */
export const UNCONFIGURED_POLICY: OrgPolicy = orgPolicySchema.parse({});

/** A stored policy parsed with today's schema (a row that no longer parses is an error: the gateway then fails closed). */
export function parseOrgPolicy(stored: unknown | null): OrgPolicy {
  if (stored === null) return UNCONFIGURED_POLICY;
  const parsed = orgPolicySchema.safeParse(stored);
  if (!parsed.success)
    throw new Error(`stored org security policy does not parse: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

export function parseOverride(stored: unknown | null): ProjectOverride {
  if (stored === null) return {};
  const parsed = projectOverrideSchema.safeParse(stored);
  if (!parsed.success)
    throw new Error(`stored project security override does not parse: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

/** The org policy and a project's override as the gateway applies them (no permission check: the gateway's key already names the project). */
export async function loadEffectivePolicy(db: DbOrTx, orgId: string, projectId: string): Promise<EffectivePolicy> {
  const [org, override] = await Promise.all([repo.getOrgPolicy(db, orgId), repo.getOverride(db, orgId, projectId)]);
  return effectivePolicy(parseOrgPolicy(org), parseOverride(override));
}

function summary(p: OrgPolicy | ProjectOverride) {
  return {
    pii: p.pii ?? {},
    promptInjection: p.promptInjection ?? null,
    rules: (p.rules ?? []).map((r) => ({ name: r.name, type: r.type, action: r.action })),
    restoreRedactions: p.restoreRedactions ?? null,
  };
}

export function incidentOut(r: repo.IncidentRow) {
  const i = r.incident;
  return {
    id: i.id,
    createdAt: i.createdAt.toISOString(),
    project: r.project,
    keyId: i.keyId,
    requestId: i.requestId,
    direction: i.direction,
    category: i.category,
    type: i.type,
    subtype: i.subtype,
    ruleName: i.ruleName,
    ruleCategory: i.ruleCategory,
    action: i.action,
    severity: i.severity,
    excerpt: i.excerpt,
    score: i.score,
    reviewed: i.reviewedAt !== null,
    reviewedAt: i.reviewedAt ? i.reviewedAt.toISOString() : null,
    reviewedBy: r.reviewer,
    reviewNote: i.reviewNote,
  };
}

export function createPolicyService(deps: { db: Db; bus: CacheInvalidationBus }) {
  const { db } = deps;
  const changed = (orgId: string) => deps.bus.publish({ scope: "policies", orgId });

  async function orgPolicy(orgId: string): Promise<OrgPolicy> {
    return parseOrgPolicy(await repo.getOrgPolicy(db, orgId));
  }

  async function incident(ctx: OrgContext, id: string) {
    const row = await repo.getIncident(db, ctx.orgId, id);
    if (!row) throw appError("INCIDENT_NOT_FOUND");
    return incidentOut(row);
  }

  async function projectView(orgId: string, projectId: string) {
    const [org, stored] = await Promise.all([orgPolicy(orgId), repo.getOverride(db, orgId, projectId)]);
    const override = parseOverride(stored);
    return { override, effective: effectivePolicy(org, override) };
  }

  return {
    async getOrgPolicy(ctx: OrgContext): Promise<OrgPolicy> {
      assertCan(ctx, "policy", "read");
      return orgPolicy(ctx.orgId);
    },

    async putOrgPolicy(ctx: OrgContext, policy: OrgPolicy): Promise<OrgPolicy> {
      assertCan(ctx, "policy", "manage");
      await db.transaction(async (tx) => {
        await repo.putOrgPolicy(tx, ctx.orgId, policy, ctx.userId);
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "security_policy.updated",
          targetType: "org",
          targetId: ctx.orgId,
          metadata: summary(policy),
        });
      });
      changed(ctx.orgId);
      return policy;
    },

    async getProjectPolicy(ctx: OrgContext, projectSlug: string) {
      assertCan(ctx, "policy", "read");
      const { project } = await resolveProject(db, ctx, projectSlug);
      return projectView(ctx.orgId, project.id);
    },

    async putProjectPolicy(ctx: OrgContext, projectSlug: string, override: ProjectOverride) {
      assertCan(ctx, "policy", "manage");
      const { project } = await resolveProject(db, ctx, projectSlug);
      const org = await orgPolicy(ctx.orgId);
      const looser = loosenings(org, override);
      if (looser.length) {
        throw appError(
          "POLICY_LOOSENS_ORG",
          `A project override can only tighten the organization's policy; these settings are looser: ${looser.join(", ")}.`,
          { loosenings: looser },
        );
      }
      await db.transaction(async (tx) => {
        await repo.putOverride(tx, ctx.orgId, project.id, override, ctx.userId);
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "project_security_policy.updated",
          targetType: "project",
          targetId: project.id,
          metadata: { project: project.slug, ...summary(override) },
        });
      });
      changed(ctx.orgId);
      return { override, effective: effectivePolicy(org, override) };
    },

    async listIncidents(ctx: OrgContext, q: IncidentsQuery) {
      assertCan(ctx, "incident", "read");
      const projectId = q.project ? (await resolveProject(db, ctx, q.project)).project.id : undefined;
      const where = repo.incidentFilters(ctx.orgId, {
        ...q,
        projectId,
        reviewed: q.reviewed === undefined ? undefined : q.reviewed === "true",
      });
      if (!where) throw appError("INVALID_CURSOR");
      const rows = await repo.pageIncidents(db, where, q.limit + 1);
      const page = rows.slice(0, q.limit);
      return {
        incidents: page.map(incidentOut),
        nextCursor: rows.length > q.limit ? repo.encodeCursor(page[page.length - 1]!.incident) : null,
      };
    },

    async getIncident(ctx: OrgContext, id: string) {
      assertCan(ctx, "incident", "read");
      return incident(ctx, id);
    },

    async review(ctx: OrgContext, id: string, note: string | undefined) {
      assertCan(ctx, "incident", "review");
      const ok = await db.transaction(async (tx) => {
        if (!(await repo.markReviewed(tx, ctx.orgId, id, ctx.userId, note ? note : null))) return false;
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "incident.reviewed",
          targetType: "security_incident",
          targetId: id,
          metadata: { hasNote: Boolean(note) },
        });
        return true;
      });
      if (!ok) throw appError("INCIDENT_NOT_FOUND");
      return incident(ctx, id);
    },
  };
}

export type PolicyService = ReturnType<typeof createPolicyService>;
