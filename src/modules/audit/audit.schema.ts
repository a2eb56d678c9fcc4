/** Request and response shapes of the audit-log API (the table is in platform/audit.ts). */
import { z } from "zod";

export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d+$/, "cursor must be a value returned as nextCursor").optional(),
  action: z.string().max(100).optional(),
  actorUserId: z.string().max(200).optional(),
  actorTokenId: z.string().max(200).optional(),
  targetType: z.string().max(100).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type AuditQuery = z.infer<typeof auditQuery>;

export const auditEntryOut = z.object({
  id: z.string(),
  action: z.string(),
  actor: z.object({
    userId: z.string().nullable(),
    email: z.string().nullable(),
    token: z
      .object({ id: z.string(), name: z.string().nullable() })
      .nullable()
      .describe("The organization API token that acted (then userId and email are null)."),
  }),
  targetType: z.string(),
  targetId: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
  createdAt: z.string(),
});

export const auditPage = z.object({ entries: z.array(auditEntryOut), nextCursor: z.string().nullable() });
