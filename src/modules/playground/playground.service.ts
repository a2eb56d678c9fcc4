/**
 * The dashboard's playground: a signed-in person's calls through the real gateway, with their own
 * playground key for the project (playground.schema.ts). The key is made the first time they use the
 * playground in that project — with the keys service, so it is audited, counted against the project's
 * key limit and listed like any key — and made again after someone revokes it. Whoever may reach the
 * project may use its playground; the gateway then treats the call as any call with that key: limits,
 * policy, routing, billing and the request log.
 */
import type { Db } from "../../platform/db/db.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { appError } from "../../platform/errors.js";
import { assertCan } from "../../platform/permissions.js";
import type { SecretBox } from "../../platform/secretbox.js";
import type { KeyService } from "../keys/keys.service.js";
import type { ProjectService } from "../projects/projects.service.js";
import * as repo from "./playground.repo.js";

/** What the sealed secret is bound to: moved to another row, it does not open. */
const sealContext = (orgId: string, keyId: string) => `playground-key:${orgId}:${keyId}`;

export function createPlaygroundService(deps: {
  db: Db;
  box: SecretBox;
  keys: Pick<KeyService, "create" | "revoke">;
  projects: Pick<ProjectService, "get">;
}) {
  const { db, box } = deps;

  return {
    /** The secret of the caller's playground key for the project (made now when they have none that works). */
    async keyFor(ctx: OrgContext, projectSlug: string): Promise<string> {
      assertCan(ctx, "playground", "use");
      const project = await deps.projects.get(ctx, projectSlug);
      // Twice at most: a first use racing another one keeps the other's key (and revokes its own).
      for (let attempt = 0; attempt < 2; attempt++) {
        const found = await repo.findKey(db, ctx.orgId, project.id, ctx.userId);
        if (found && !found.revoked) return box.open(found.sealed, sealContext(ctx.orgId, found.keyId));
        const made = await deps.keys.create(ctx, projectSlug, {
          name: `Playground · ${ctx.email}`,
          environment: "live",
        });
        const saved = await repo.saveKey(db, {
          orgId: ctx.orgId,
          projectId: project.id,
          userId: ctx.userId,
          keyId: made.id,
          sealedKey: box.seal(made.key, sealContext(ctx.orgId, made.id)),
        });
        if (saved) return made.key;
        await deps.keys.revoke(ctx, projectSlug, made.id);
      }
      throw appError("INTERNAL_ERROR", "The playground key could not be made; try again.");
    },
  };
}

export type PlaygroundService = ReturnType<typeof createPlaygroundService>;
