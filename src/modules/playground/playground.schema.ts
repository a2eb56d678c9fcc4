/**
 * The playground's keys: one API key per person and project, made for the dashboard's playground the
 * first time that person uses it there. The key is a real project key (listed with the project's keys,
 * limited, budgeted and revoked like any other); its secret is shown to no one: it is kept here, sealed
 * with the instance secret, so the server can make the person's playground calls with it.
 */
import { pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "../../platform/auth/auth.schema.js";
import { apiKeys } from "../keys/keys.schema.js";
import { organizations } from "../organizations/organizations.schema.js";
import { projects } from "../projects/projects.schema.js";

export const playgroundKeys = pgTable(
  "playground_keys",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    keyId: text("key_id")
      .notNull()
      .references(() => apiKeys.id, { onDelete: "cascade" }),
    /** The key's secret, sealed (platform/secretbox). */
    sealedKey: text("sealed_key").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId] })],
);
