/**
 * The first-run checklist of an organization. Its steps are never stored: each
 * is computed from the organization's real state on every read
 * (onboarding.repo.ts). The only thing kept is a person's choice to hide the
 * card: one row per (organization, person), removed with either.
 */
import { pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";

export const onboardingDismissals = pgTable(
  "onboarding_dismissals",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    dismissedAt: timestamp("dismissed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] })],
);

/** The steps, in the order the checklist shows them. `credits` is left out when the instance has no prepaid credits. */
export const ONBOARDING_STEPS = ["project", "key", "first_request", "teammate", "policy", "credits"] as const;
export type OnboardingStepId = (typeof ONBOARDING_STEPS)[number];

export const onboardingStepOut = z.object({
  id: z.enum(ONBOARDING_STEPS),
  done: z.boolean(),
  canDo: z
    .boolean()
    .describe("Whether the caller's role may do this step (false: the dashboard says to ask an owner or admin)."),
  href: z
    .string()
    .optional()
    .describe(
      "The dashboard path where the step is done; only when the caller may do it (and, for keys, reaches a project).",
    ),
});

export const onboardingOut = z.object({
  steps: z.array(onboardingStepOut),
  dismissed: z
    .boolean()
    .describe("The caller hid the card in this organization (the dashboard also hides it once every step is done)."),
  project: z
    .object({ slug: z.string(), name: z.string(), defaultModel: z.string().nullable() })
    .nullable()
    .describe("The first project the caller reaches (keys and the first-request snippet point at it); null: none."),
});

/** Nothing to send (an empty object, or no body). */
export const dismissBody = z.strictObject({}).nullish();
