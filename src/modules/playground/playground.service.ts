/**
 * The dashboard's playground: a signed-in person's calls through the real gateway, with their own
 * playground key for the project (playground.schema.ts). The key is made the first time they use the
 * playground in that project — with the keys service, so it is audited, counted against the project's
 * key limit and listed like any key — and made again after someone revokes it. Whoever may reach the
 * project may use its playground; the gateway then treats the call as any call with that key: limits,
 * policy, routing, billing and the request log.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../platform/db/db.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { assertCan } from "../../platform/permissions.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { apiKeys } from "../keys/keys.schema.js";
import type { KeyService } from "../keys/keys.service.js";
import type { ProjectService } from "../projects/projects.service.js";
import { playgroundKeys } from "./playground.schema.js";

/** What the sealed secret is bound to: moved to another row, it does not open. */
const sealContext = (orgId: string, keyId: string) => `playground-key:${orgId}:${keyId}`;

export function createPlaygroundService(deps: {
  db: Db;
  box: SecretBox;
  keys: Pick<KeyService, "create" | "revoke">;
  projects: Pick<ProjectService, "get">;
}) {
  const { db, box } = deps;

  /** The person's live playground key in the project, if it still works. */
  async function existing(orgId: string, projectId: string, userId: string): Promise<string | null> {
    const [row] = await db
      .select({ keyId: playgroundKeys.keyId, sealed: playgroundKeys.sealedKey, revokedAt: apiKeys.revokedAt })
      .from(playgroundKeys)
      .innerJoin(apiKeys, eq(apiKeys.id, playgroundKeys.keyId))
      .where(and(eq(playgroundKeys.projectId, projectId), eq(playgroundKeys.userId, userId)));
    if (!row || row.revokedAt) return null;
    return box.open(row.sealed, sealContext(orgId, row.keyId));
  }

  return {
    /** The secret of the caller's playground key for the project (made now when they have none that works). */
    async keyFor(ctx: OrgContext, projectSlug: string): Promise<string> {
      assertCan(ctx, "playground", "use");
      const project = await deps.projects.get(ctx, projectSlug);
      const found = await existing(ctx.orgId, project.id, ctx.userId);
      if (found) return found;
      const made = await deps.keys.create(ctx, projectSlug, {
        name: `Playground · ${ctx.email}`,
        environment: "live",
      });
      const row = {
        orgId: ctx.orgId,
        projectId: project.id,
        userId: ctx.userId,
        keyId: made.id,
        sealedKey: box.seal(made.key, sealContext(ctx.orgId, made.id)),
      };
      // A revoked key's row is replaced; a row another request wrote a moment ago wins, and this key goes.
      const [kept] = await db
        .insert(playgroundKeys)
        .values(row)
        .onConflictDoUpdate({
          target: [playgroundKeys.projectId, playgroundKeys.userId],
          set: { keyId: row.keyId, sealedKey: row.sealedKey, createdAt: new Date() },
          setWhere: sql`exists (select 1 from ${apiKeys} where ${apiKeys.id} = ${playgroundKeys.keyId} and ${apiKeys.revokedAt} is not null)`,
        })
        .returning({ keyId: playgroundKeys.keyId });
      if (kept) return made.key;
      await deps.keys.revoke(ctx, projectSlug, made.id);
      const winner = await existing(ctx.orgId, project.id, ctx.userId);
      if (!winner) throw new Error("playground key vanished while it was being made");
      return winner;
    },
  };
}

export type PlaygroundService = ReturnType<typeof createPlaygroundService>;
