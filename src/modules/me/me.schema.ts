import { z } from "zod";
import { SINGLE_LINE, SINGLE_LINE_MESSAGE } from "../../platform/routes.js";
import { orgResponse } from "../organizations/organizations.schema.js";

export const updateMeBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).regex(SINGLE_LINE, SINGLE_LINE_MESSAGE).optional(),
    activeOrganization: z.string().min(1).max(48).optional().describe("Slug of the organization to switch to."),
  })
  .refine((b) => Object.keys(b).length > 0, "Send name or activeOrganization.");

export const meResponse = z.object({
  user: z.object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    emailVerified: z.boolean(),
    twoFactorEnabled: z.boolean(),
    createdAt: z.string(),
  }),
  organizations: z.array(
    orgResponse.extend({
      ssoSignInNeeded: z
        .boolean()
        .describe("The organization requires SSO and this session did not come through its identity provider."),
    }),
  ),
  activeOrganization: z.string().nullable().describe("Slug of the last active organization."),
});
