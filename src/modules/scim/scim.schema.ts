/**
 * The auth library's SCIM plugin tables (models `scimConnectionBinding`,
 * `scimIdentityTombstone`, `scimSubject`, `scimUser`, `scimProjectionGrant`,
 * `scimGroup`, `scimGroupMember`): what an identity provider provisioned. The
 * plugin reads and writes them, inside its own transactions; Tollgate code
 * does not touch them. Columns mirror the plugin's model fields
 * (camelCase properties are the plugin's field names, columns snake_case).
 *
 * Tollgate gives each organization one SCIM connection whose id and
 * provisioning domain are the organization's id (platform/auth/scim.ts), so
 * every `provisioning_domain_id` is an organization id (a foreign key):
 * deleting the organization deletes what its identity provider provisioned
 * (the people's accounts stay).
 * The `*_key` columns are the plugin's scoped uniqueness keys.
 */
import { boolean, foreignKey, index, integer, type PgColumn, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";

const at = (name: string) => timestamp(name, { withTimezone: true });
const domain = () => text("provisioning_domain_id").notNull();
/** The provisioning domain is an organization (named: the default name would pass Postgres's 63 characters). */
const domainFk = (table: string, column: PgColumn) =>
  foreignKey({ name: `${table}_org_fk`, columns: [column], foreignColumns: [organizations.id] }).onDelete("cascade");
const userRef = () =>
  text("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" });

/** One row per connection that has been used: pins its provisioning domain; its decommission state. */
export const scimConnectionBindings = pgTable(
  "scim_connection_bindings",
  {
    id: text("id").primaryKey(),
    connectionId: text("connection_id").notNull(),
    connectionKey: text("connection_key").notNull().unique(),
    provisioningDomainId: domain(),
    createdAt: at("created_at").notNull(),
    decommissionedAt: at("decommissioned_at"),
    decommissionStatus: text("decommission_status").notNull().default("active"),
    decommissionCursorUserId: text("decommission_cursor_user_id"),
    decommissionReconciledUserCount: integer("decommission_reconciled_user_count").notNull().default(0),
    decommissionBatchCount: integer("decommission_batch_count").notNull().default(0),
    decommissionRevision: integer("decommission_revision").notNull().default(0),
    decommissionCompletedAt: at("decommission_completed_at"),
    decommissionLeaseId: text("decommission_lease_id"),
    decommissionLeaseExpiresAt: at("decommission_lease_expires_at"),
  },
  (t) => [
    domainFk("scim_connection_bindings", t.provisioningDomainId),
    index("scim_connection_bindings_connection_idx").on(t.connectionId),
  ],
);

/** A deleted SCIM User's externalId → account link, so the same person provisioned again gets the same account. */
export const scimIdentityTombstones = pgTable(
  "scim_identity_tombstones",
  {
    id: text("id").primaryKey(),
    connectionId: text("connection_id").notNull(),
    provisioningDomainId: domain(),
    externalId: text("external_id").notNull(),
    externalIdKey: text("external_id_key").notNull().unique(),
    userId: userRef(),
    profile: text("profile").notNull(),
    deletedAt: at("deleted_at").notNull(),
  },
  (t) => [
    domainFk("scim_identity_tombstones", t.provisioningDomainId),
    index("scim_identity_tombstones_connection_idx").on(t.connectionId),
    index("scim_identity_tombstones_domain_idx").on(t.provisioningDomainId),
    index("scim_identity_tombstones_user_idx").on(t.userId),
  ],
);

/** Per account: which SCIM User (if any) manages its name and email, and a revision for concurrent changes. */
export const scimSubjects = pgTable(
  "scim_subjects",
  {
    id: text("id").primaryKey(),
    userId: userRef().unique(),
    profileSourceId: text("profile_source_id"),
    revision: integer("revision").notNull(),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
  },
  (t) => [index("scim_subjects_profile_source_idx").on(t.profileSourceId)],
);

/** A SCIM User resource of one connection, linked to one account. */
export const scimUsers = pgTable(
  "scim_users",
  {
    id: text("id").primaryKey(),
    connectionId: text("connection_id").notNull(),
    provisioningDomainId: domain(),
    userId: userRef(),
    connectionUserKey: text("connection_user_key").notNull().unique(),
    userName: text("user_name").notNull(),
    userNameKey: text("user_name_key").notNull().unique(),
    primaryEmail: text("primary_email").notNull(),
    workEmailValueIndex: text("work_email_value_index").notNull(),
    emailValueIndex: text("email_value_index").notNull(),
    displayName: text("display_name").notNull(),
    formattedName: text("formatted_name").notNull(),
    givenName: text("given_name"),
    familyName: text("family_name"),
    serializedEmails: text("serialized_emails").notNull(),
    serializedAttributes: text("serialized_attributes"),
    externalId: text("external_id"),
    externalIdKey: text("external_id_key").unique(),
    active: boolean("active").notNull(),
    orderKey: text("order_key").notNull().unique(),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
  },
  (t) => [
    domainFk("scim_users", t.provisioningDomainId),
    index("scim_users_connection_idx").on(t.connectionId),
    index("scim_users_domain_idx").on(t.provisioningDomainId),
    index("scim_users_user_idx").on(t.userId),
  ],
);

/** Roles the plugin derived from Group memberships (Tollgate maps none, so this stays empty). */
export const scimProjectionGrants = pgTable(
  "scim_projection_grants",
  {
    id: text("id").primaryKey(),
    connectionId: text("connection_id").notNull(),
    provisioningDomainId: domain(),
    scimUserId: text("scim_user_id")
      .notNull()
      .references(() => scimUsers.id, { onDelete: "cascade" }),
    userId: userRef(),
    sourceKind: text("source_kind").notNull(),
    sourceId: text("source_id").notNull(),
    sourceValue: text("source_value"),
    role: text("role").notNull(),
    grantKey: text("grant_key").notNull().unique(),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
  },
  (t) => [
    domainFk("scim_projection_grants", t.provisioningDomainId),
    index("scim_projection_grants_connection_idx").on(t.connectionId),
    index("scim_projection_grants_domain_idx").on(t.provisioningDomainId),
    index("scim_projection_grants_scim_user_idx").on(t.scimUserId),
    index("scim_projection_grants_user_idx").on(t.userId),
  ],
);

/** A SCIM Group resource of one connection (stored and served; it grants nothing in Tollgate). */
export const scimGroups = pgTable(
  "scim_groups",
  {
    id: text("id").primaryKey(),
    connectionId: text("connection_id").notNull(),
    provisioningDomainId: domain(),
    revision: integer("revision").notNull().default(0),
    displayName: text("display_name").notNull(),
    displayNameKey: text("display_name_key").notNull().unique(),
    externalId: text("external_id"),
    externalIdKey: text("external_id_key").unique(),
    orderKey: text("order_key").notNull().unique(),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
  },
  (t) => [
    domainFk("scim_groups", t.provisioningDomainId),
    index("scim_groups_connection_idx").on(t.connectionId),
    index("scim_groups_domain_idx").on(t.provisioningDomainId),
  ],
);

export const scimGroupMembers = pgTable(
  "scim_group_members",
  {
    id: text("id").primaryKey(),
    connectionId: text("connection_id").notNull(),
    groupId: text("group_id")
      .notNull()
      .references(() => scimGroups.id, { onDelete: "cascade" }),
    scimUserId: text("scim_user_id")
      .notNull()
      .references(() => scimUsers.id, { onDelete: "cascade" }),
    membershipKey: text("membership_key").notNull().unique(),
    createdAt: at("created_at").notNull(),
  },
  (t) => [
    index("scim_group_members_connection_idx").on(t.connectionId),
    index("scim_group_members_group_idx").on(t.groupId),
    index("scim_group_members_scim_user_idx").on(t.scimUserId),
  ],
);

/** The plugin's models by the names the auth library's Drizzle adapter looks them up (plural). */
export const scimPluginTables = {
  scimConnectionBindings,
  scimIdentityTombstones,
  scimSubjects,
  scimUsers,
  scimProjectionGrants,
  scimGroups,
  scimGroupMembers,
};
