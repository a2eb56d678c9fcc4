/** Request and response shapes of the audit-log API (the table is in platform/audit.ts). */
import { z } from "zod";
import { AUDIT_ACTION_LABELS, AUDIT_ACTIONS, AUDIT_TARGET_TYPES } from "./audit.actions.js";

const actionList = AUDIT_ACTIONS.map((a) => `\`${a}\` (${AUDIT_ACTION_LABELS[a]})`).join(", ");

export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d+$/, "cursor must be a value returned as nextCursor").optional(),
  action: z
    .enum(AUDIT_ACTIONS, { error: "action must be one of the audit actions (see the OpenAPI enum)" })
    .optional()
    .describe(`Only entries of this action: ${actionList}.`),
  actorUserId: z.string().min(1).max(200).optional().describe("Only entries made by this person (a user id)."),
  actorTokenId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("Only entries made by this organization API token (its id)."),
  targetType: z
    .enum(AUDIT_TARGET_TYPES, { error: "targetType must be one of the audit target types" })
    .optional()
    .describe("Only entries about this kind of target."),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("Only entries at or after this instant (ISO 8601 with offset)."),
  to: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("Only entries at or before this instant; before `from` is 400 INVALID_RANGE."),
});
export type AuditQuery = z.infer<typeof auditQuery>;

const person = z.object({ name: z.string(), email: z.string() });

export const auditEntryOut = z.object({
  id: z.string(),
  action: z.string().describe("One of the `action` filter's values."),
  actor: z.object({
    userId: z.string().nullable(),
    email: z
      .string()
      .nullable()
      .describe(
        "The email recorded (the person's current name is in the page's `people`); `system` or `stripe` for the instance's own actions.",
      ),
    token: z
      .object({ id: z.string(), name: z.string().nullable() })
      .nullable()
      .describe("The organization API token that acted (then userId and email are null)."),
  }),
  targetType: z.string(),
  targetId: z.string().nullable(),
  targetName: z
    .string()
    .nullable()
    .describe("The target's current name where the log can look it up (a person, a project); else null."),
  project: z
    .object({ id: z.string().nullable(), slug: z.string().nullable(), name: z.string().nullable() })
    .nullable()
    .describe("The project the entry concerns (a project, a key, a project policy); name null when it is gone."),
  metadata: z
    .record(z.string(), z.unknown())
    .describe("What the change was: names, roles, `from`/`to`, `before`/`after` or `changes`; never a secret."),
  ip: z.string().nullable(),
  createdAt: z.string(),
});

export const auditPage = z.object({
  entries: z.array(auditEntryOut),
  nextCursor: z.string().nullable(),
  people: z
    .record(z.string(), person)
    .describe("The people this page names by user id (actors, targets, ids in metadata), with their current name."),
});
