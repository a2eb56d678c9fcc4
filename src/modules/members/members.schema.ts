/**
 * Member management API: request and response shapes. The `members` table is
 * defined with the organization it belongs to (organizations.schema.ts).
 */
import { z } from "zod";
import { ASSIGNABLE_ROLES, ROLES } from "../../platform/permissions.js";

export const changeRoleBody = z.strictObject({ role: z.enum(ASSIGNABLE_ROLES) });
export const removeMemberQuery = z.strictObject({
  keepKeys: z
    .enum(["true", "false"])
    .optional()
    .describe("Keep the member's API keys working after removal (default: revoke them)."),
});

export const memberResponse = z.object({
  userId: z.string(),
  name: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  joinedAt: z.string(),
  twoFactorEnabled: z.boolean().describe("The member's account has two-factor authentication."),
  lastActiveAt: z
    .string()
    .nullable()
    .describe("The latest activity of any of the member's sessions; null when they have no session."),
});
