/**
 * The first-run checklist: six steps, each ticked from the organization's real
 * state (onboarding.repo.ts), never from a stored flag, so undoing a step
 * (revoking the last key) opens it again.
 *
 * Role-aware. Every member reads the checklist; each step says whether the
 * caller may do it (`canDo`, from the permission table) and, only then, where
 * (`href`). A step the caller may see but not do stays on the list: the
 * dashboard says "Ask an owner or admin". A step about something the caller's
 * role may not see is left out: `credits` for members (billing is for owners
 * and admins), and for everyone when the instance has no prepaid credits
 * (TOLLGATE_BILLING=off).
 *
 * Hiding the card is each person's own choice in each organization (the
 * dashboard also hides it for them once every step is done): it changes
 * nothing for anyone else, so every member may do it, and an API token may not
 * (there is no person to hide it for).
 */
import type { Db } from "../../platform/db/db.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { allows, assertCan } from "../../platform/permissions.js";
import type { ProjectService } from "../projects/projects.service.js";
import { insertDismissal, readFacts } from "./onboarding.repo.js";
import type { OnboardingStepId } from "./onboarding.schema.js";

interface Step {
  id: OnboardingStepId;
  done: boolean;
  canDo: boolean;
  href?: string;
}

export function createOnboardingService(deps: {
  db: Db;
  projects: Pick<ProjectService, "list">;
  /** Prepaid credits on this instance (config.billing.credits): without them there is no credits step. */
  creditsEnabled: boolean;
}) {
  const { db } = deps;

  return {
    async get(ctx: OrgContext) {
      assertCan(ctx, "org", "read");
      const [facts, reachable] = await Promise.all([readFacts(db, ctx.orgId, ctx.userId), deps.projects.list(ctx)]);
      const org = `/${encodeURIComponent(ctx.orgSlug)}`;
      const project = reachable[0] ?? null;
      const step = (id: OnboardingStepId, done: boolean, canDo: boolean, href: string): Step =>
        canDo ? { id, done, canDo, href } : { id, done, canDo };
      // Keys (and so the first request) are made in a project the caller reaches.
      const keyHref = project ? `${org}/projects/${encodeURIComponent(project.slug)}/keys` : "";
      const steps: Step[] = [
        step("project", facts.hasProject, allows(ctx, "project", "create"), org),
        step("key", facts.hasKey, allows(ctx, "key", "create") && project !== null, keyHref),
        step("first_request", facts.hasRequest, allows(ctx, "key", "create") && project !== null, keyHref),
        step("teammate", facts.hasTeammate, allows(ctx, "invitation", "create"), `${org}/settings/team`),
        step("policy", facts.hasPolicy, allows(ctx, "policy", "manage"), `${org}/security`),
      ];
      if (deps.creditsEnabled && allows(ctx, "billing", "read"))
        steps.push(step("credits", facts.hasCredits, allows(ctx, "billing", "manage"), `${org}/settings/billing`));
      return {
        steps,
        dismissed: facts.dismissed,
        project: project ? { slug: project.slug, name: project.name, defaultModel: project.defaultModel } : null,
      };
    },

    /** Hides the card for the caller in this organization (idempotent). */
    async dismiss(ctx: OrgContext): Promise<void> {
      assertCan(ctx, "onboarding", "dismiss");
      await insertDismissal(db, ctx.orgId, ctx.userId);
    },
  };
}

export type OnboardingService = ReturnType<typeof createOnboardingService>;
