/** The checklist's facts, read in one statement of existence checks (each stops at its first row). */
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { billingAccounts, ledgerEntries } from "../billing/billing.schema.js";
import { invitations } from "../invitations/invitations.schema.js";
import { apiKeys } from "../keys/keys.schema.js";
import { requestLogs } from "../logs/logs.schema.js";
import { members } from "../organizations/organizations.schema.js";
import { orgSecurityPolicies } from "../policies/policies.schema.js";
import { projects } from "../projects/projects.schema.js";
import { onboardingDismissals } from "./onboarding.schema.js";

export interface OnboardingFacts {
  hasProject: boolean;
  /** A key that is not revoked, in any project. */
  hasKey: boolean;
  /** A request-log row, in any project. */
  hasRequest: boolean;
  /** More than one member, or a pending invitation that has not expired. */
  hasTeammate: boolean;
  hasPolicy: boolean;
  /** A positive balance, or any credit ever posted (top-up, grant, refund, positive adjustment). */
  hasCredits: boolean;
  dismissed: boolean;
}

const bool = (v: unknown) => v === true || v === "t" || v === "true";

export async function readFacts(db: DbOrTx, orgId: string, userId: string): Promise<OnboardingFacts> {
  const res = (await db.execute(sql`
    select
      exists (select 1 from ${projects} where ${projects.orgId} = ${orgId}) as has_project,
      exists (select 1 from ${apiKeys} where ${apiKeys.orgId} = ${orgId} and ${apiKeys.revokedAt} is null) as has_key,
      exists (select 1 from ${requestLogs} where ${requestLogs.orgId} = ${orgId}) as has_request,
      (
        exists (select 1 from ${members} where ${members.orgId} = ${orgId} offset 1)
        or exists (
          select 1 from ${invitations}
          where ${invitations.orgId} = ${orgId} and ${invitations.status} = 'pending' and ${invitations.expiresAt} > now()
        )
      ) as has_teammate,
      exists (select 1 from ${orgSecurityPolicies} where ${orgSecurityPolicies.orgId} = ${orgId}) as has_policy,
      (
        exists (select 1 from ${billingAccounts} where ${billingAccounts.orgId} = ${orgId} and ${billingAccounts.balanceMicroUsd} > 0)
        or exists (
          select 1 from ${ledgerEntries}
          where ${ledgerEntries.orgId} = ${orgId} and ${ledgerEntries.kind} <> 'usage' and ${ledgerEntries.amountMicroUsd} > 0
        )
      ) as has_credits,
      exists (
        select 1 from ${onboardingDismissals}
        where ${onboardingDismissals.orgId} = ${orgId} and ${onboardingDismissals.userId} = ${userId}
      ) as dismissed
  `)) as unknown as { rows: Record<string, unknown>[] };
  const r = res.rows[0] ?? {};
  return {
    hasProject: bool(r.has_project),
    hasKey: bool(r.has_key),
    hasRequest: bool(r.has_request),
    hasTeammate: bool(r.has_teammate),
    hasPolicy: bool(r.has_policy),
    hasCredits: bool(r.has_credits),
    dismissed: bool(r.dismissed),
  };
}

/** Idempotent: a second dismissal keeps the first one's time. */
export async function insertDismissal(db: DbOrTx, orgId: string, userId: string): Promise<void> {
  await db.insert(onboardingDismissals).values({ orgId, userId }).onConflictDoNothing();
}
