/**
 * The database behind the gateway's ResponseStore (gateway/responses/store.ts):
 * every query is scoped by organization and project and skips expired rows;
 * payloads are sealed with the row's own context, so a payload copied into
 * another row, project or organization does not open.
 */
import { and, eq, gt, sql } from "drizzle-orm";
import type { ResponseStore, StoredTurn, StoredTurnBody } from "../../gateway/responses/store.js";
import type { Db } from "../../platform/db/db.js";
import { createGroupCommit } from "../../platform/group-commit.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { storedResponses } from "./responses.schema.js";

/** How long a stored response is kept. */
const TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** The longest conversation `previous_response_id` follows back. */
const MAX_TURNS = 10_000;

type Payload = StoredTurnBody;

const contextOf = (orgId: string, projectId: string, id: string) => `stored-response:${orgId}:${projectId}:${id}`;

export function createResponseStore(db: Db, box: SecretBox): ResponseStore {
  // A response is stored before it is answered; concurrent ones share one INSERT (one row per statement
  // cost ~5x the rest of the request on the embedded database).
  const insert = createGroupCommit<typeof storedResponses.$inferInsert>(async (rows) => {
    await db.insert(storedResponses).values(rows);
  });
  const open = (orgId: string, projectId: string, id: string, payload: string): Payload =>
    JSON.parse(box.open(payload, contextOf(orgId, projectId, id))) as Payload;
  const scope = (orgId: string, projectId: string, id: string) =>
    and(
      eq(storedResponses.id, id),
      eq(storedResponses.orgId, orgId),
      eq(storedResponses.projectId, projectId),
      gt(storedResponses.expiresAt, sql`now()`),
    );

  return {
    save(t: StoredTurn) {
      const payload: Payload = t.items
        ? { response: t.response, items: t.items }
        : { response: t.response, input: t.input };
      return insert({
        id: t.id,
        orgId: t.orgId,
        projectId: t.projectId,
        keyId: t.keyId,
        previousId: t.previousId,
        createdAt: t.createdAt,
        expiresAt: new Date(t.createdAt.getTime() + TTL_MS),
        payload: box.seal(JSON.stringify(payload), contextOf(t.orgId, t.projectId, t.id)),
      });
    },

    async find(orgId, projectId, id) {
      const [row] = await db
        .select({ payload: storedResponses.payload })
        .from(storedResponses)
        .where(scope(orgId, projectId, id));
      return row ? open(orgId, projectId, id, row.payload) : null;
    },

    async conversation(orgId, projectId, id) {
      const res = (await db.execute(sql`
        with recursive chain (id, previous_id, payload, depth) as (
          select id, previous_id, payload, 0 from stored_responses
            where id = ${id} and org_id = ${orgId} and project_id = ${projectId} and expires_at > now()
          union all
          select r.id, r.previous_id, r.payload, c.depth + 1 from stored_responses r join chain c on r.id = c.previous_id
            where r.org_id = ${orgId} and r.project_id = ${projectId} and r.expires_at > now() and c.depth < ${MAX_TURNS}
        )
        select id, previous_id, payload from chain order by depth desc`)) as unknown as {
        rows: Array<{ id: string; previous_id: string | null; payload: string }>;
      };
      const rows = res.rows;
      // The oldest turn found must start the conversation: otherwise a turn of the chain is gone.
      if (rows.length === 0 || rows[0]!.previous_id !== null) return null;
      return rows.map((r) => open(orgId, projectId, r.id, r.payload));
    },

    async remove(orgId, projectId, id) {
      const gone = await db
        .delete(storedResponses)
        .where(scope(orgId, projectId, id))
        .returning({ id: storedResponses.id });
      return gone.length > 0;
    },
  };
}
