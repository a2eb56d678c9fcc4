/**
 * Invitations (email + role, single-use link, 7-day expiry). Invariants:
 *  - a token is 32 random bytes, stored only as SHA-256, single use, 7 days;
 *  - emails compare lower-cased; one pending invitation per (org, email);
 *  - nobody invites above their own role, and never as owner; acceptance
 *    re-checks that the inviter can still grant the role;
 *  - accepting locks the invitation row: concurrent accepts make one membership;
 *  - accepting proves the address (the link was mailed to it): the account is
 *    marked verified. So does signing up with the link's token (`isInvited`).
 * Mail goes out after the transaction commits.
 */
import { and, eq, lt, sql } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { users } from "../../platform/auth/auth.schema.js";
import { recordAudit } from "../../platform/audit.js";
import type { Actor, OrgContext } from "../../platform/auth/guard.js";
import { newId, randomToken, sha256Hex } from "../../platform/crypto.js";
import { type Db, isUniqueViolation } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import type { Mailer } from "../../platform/mail.js";
import { type AssignableRole, assertCan, can, canGrant } from "../../platform/permissions.js";
import * as membersRepo from "../organizations/members.repo.js";
import { lockOrg } from "../organizations/org-lock.js";
import { getById, setActiveOrgId } from "../organizations/organizations.repo.js";
import { members } from "../organizations/organizations.schema.js";
import * as repo from "./invitations.repo.js";
import { invitations } from "./invitations.schema.js";

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

const normalizeEmail = (e: string) => e.trim().toLowerCase();
const isExpired = (inv: { expiresAt: Date }) => inv.expiresAt.getTime() <= Date.now();

const toOut = (inv: repo.InvitationWithInviter) => ({
  id: inv.id,
  email: inv.email,
  role: inv.role,
  status: inv.status,
  expired: inv.status === "expired" || (inv.status === "pending" && isExpired(inv)),
  invitedBy: inv.invitedBy ? { id: inv.invitedBy, name: inv.inviterName ?? "" } : null,
  expiresAt: inv.expiresAt.toISOString(),
  createdAt: inv.createdAt.toISOString(),
});

export function createInvitationService(deps: { db: Db; mailer: Mailer; publicUrl: string; log: FastifyBaseLogger }) {
  const { db } = deps;

  async function sendInvitationMail(
    to: string,
    token: string,
    orgName: string,
    inviterName: string,
    role: string,
    expiresAt: Date,
  ) {
    const link = `${deps.publicUrl}/invite/${token}`;
    try {
      await deps.mailer.send({
        to,
        subject: `${inviterName} invited you to ${orgName} on Tollgate`,
        text:
          `${inviterName} invited you to join the organization "${orgName}" on Tollgate as ${role}.\n\n` +
          `Accept the invitation: ${link}\n\n` +
          `Sign in (or sign up) with this email address (${to}) to accept. The link is valid until ${expiresAt.toUTCString()} and works once.\n` +
          `If you did not expect this, ignore this email.\n`,
      });
    } catch (err) {
      deps.log.error({ err: (err as Error).message, to }, "invitation mail failed; the invitation can be resent");
    }
  }

  /** Loads an invitation by token for the signed-in invitee and checks it can still be answered. */
  async function loadForResponse(tx: Parameters<Parameters<Db["transaction"]>[0]>[0], actor: Actor, token: string) {
    // Lock order everywhere is organization row first, then what it owns (deleting an
    // organization takes the same order), so accept and delete can never deadlock.
    const peek = await repo.getByTokenHash(tx, sha256Hex(token));
    if (!peek) throw appError("INVITATION_NOT_FOUND");
    await lockOrg(tx, peek.inv.orgId);
    const row = await repo.getByTokenHash(tx, sha256Hex(token), true);
    if (!row) throw appError("INVITATION_NOT_FOUND");
    const inv = row.inv;
    if (normalizeEmail(actor.email) !== inv.email) {
      throw appError("INVITATION_EMAIL_MISMATCH");
    }
    if (inv.status === "revoked") throw appError("INVITATION_REVOKED");
    if (inv.status === "accepted" || inv.status === "declined") {
      throw appError("INVITATION_ALREADY_USED", `This invitation was already ${inv.status}.`);
    }
    if (inv.status === "expired" || isExpired(inv)) throw appError("INVITATION_EXPIRED");
    return row;
  }

  return {
    async list(ctx: OrgContext, status?: repo.InvitationRow["status"]) {
      assertCan(ctx, "invitation", "read");
      return (await repo.listForOrg(db, ctx.orgId, status)).map(toOut);
    },

    async create(ctx: OrgContext, body: { email: string; role: AssignableRole }) {
      assertCan(ctx, "invitation", "create");
      if (!canGrant(ctx.role, body.role))
        throw appError("ROLE_ABOVE_YOURS", "You cannot invite someone with a role above your own.");
      const email = normalizeEmail(body.email);
      const token = randomToken();
      const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
      let created: repo.InvitationRow;
      try {
        created = await db.transaction(async (tx) => {
          const [existing] = await tx
            .select({ id: members.id })
            .from(members)
            .innerJoin(users, eq(users.id, members.userId))
            .where(and(eq(members.orgId, ctx.orgId), eq(users.email, email)))
            .limit(1);
          if (existing) throw appError("ALREADY_MEMBER", `${email} is already a member of this organization.`);
          // A pending invitation past its expiry no longer blocks a new one.
          await tx
            .update(invitations)
            .set({ status: "expired", updatedAt: sql`now()` })
            .where(
              and(
                eq(invitations.orgId, ctx.orgId),
                eq(invitations.email, email),
                eq(invitations.status, "pending"),
                lt(invitations.expiresAt, sql`now()`),
              ),
            );
          const inv = await repo.insert(tx, {
            id: newId(),
            orgId: ctx.orgId,
            email,
            role: body.role,
            tokenHash: sha256Hex(token),
            invitedBy: ctx.userId,
            expiresAt,
          });
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "invitation.created",
            targetType: "invitation",
            targetId: inv.id,
            metadata: { email, role: body.role },
          });
          return inv;
        });
      } catch (err) {
        if (isUniqueViolation(err, "invitations_pending_uq")) {
          throw appError(
            "INVITATION_PENDING",
            `${email} already has a pending invitation. Resend or revoke it instead.`,
          );
        }
        throw err;
      }
      const org = await getById(db, ctx.orgId);
      await sendInvitationMail(email, token, org?.name ?? ctx.orgSlug, ctx.name, body.role, expiresAt);
      return toOut({ ...created, inviterName: ctx.name });
    },

    async revoke(ctx: OrgContext, id: string) {
      assertCan(ctx, "invitation", "revoke");
      await db.transaction(async (tx) => {
        const inv = await repo.getForOrg(tx, ctx.orgId, id, true);
        if (!inv) throw appError("INVITATION_NOT_FOUND", "No such invitation in this organization.");
        if (inv.status !== "pending")
          throw appError("INVITATION_NOT_PENDING", `This invitation is already ${inv.status}.`);
        await repo.update(tx, inv.id, { status: "revoked" });
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "invitation.revoked",
          targetType: "invitation",
          targetId: inv.id,
          metadata: { email: inv.email, role: inv.role },
        });
      });
    },

    async resend(ctx: OrgContext, id: string) {
      assertCan(ctx, "invitation", "resend");
      const token = randomToken();
      const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
      const updated = await db.transaction(async (tx) => {
        const inv = await repo.getForOrg(tx, ctx.orgId, id, true);
        if (!inv) throw appError("INVITATION_NOT_FOUND", "No such invitation in this organization.");
        if (inv.status !== "pending")
          throw appError("INVITATION_NOT_PENDING", `This invitation is ${inv.status}; create a new one instead.`);
        if (!canGrant(ctx.role, inv.role))
          throw appError("ROLE_ABOVE_YOURS", "You cannot resend an invitation for a role above your own.");
        // A new token: the old link stops working at once.
        const out = await repo.update(tx, inv.id, { tokenHash: sha256Hex(token), expiresAt, invitedBy: ctx.userId });
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "invitation.resent",
          targetType: "invitation",
          targetId: inv.id,
          metadata: { email: inv.email, role: inv.role },
        });
        return out;
      });
      const org = await getById(db, ctx.orgId);
      await sendInvitationMail(updated.email, token, org?.name ?? ctx.orgSlug, ctx.name, updated.role, expiresAt);
      return toOut({ ...updated, inviterName: ctx.name });
    },

    /** For the sign-up policy: a pending invitation for `email` (with `token`: that invitation's token). */
    async isInvited(email: string, token?: string): Promise<boolean> {
      return repo.hasPendingFor(db, normalizeEmail(email), token === undefined ? undefined : sha256Hex(token));
    },

    /** Public preview for the invitation page: who invites you where, as what. */
    async preview(token: string) {
      const row = await repo.getByTokenHash(db, sha256Hex(token));
      if (!row) throw appError("INVITATION_NOT_FOUND");
      const inv = row.inv;
      return {
        organization: { slug: row.orgSlug, name: row.orgName },
        invitedBy: row.inviterName ? { name: row.inviterName } : null,
        email: inv.email,
        role: inv.role,
        status: inv.status,
        expired: inv.status === "expired" || (inv.status === "pending" && isExpired(inv)),
        expiresAt: inv.expiresAt.toISOString(),
      };
    },

    async accept(actor: Actor, token: string) {
      return db.transaction(async (tx) => {
        const row = await loadForResponse(tx, actor, token);
        const inv = row.inv;
        const inviter = inv.invitedBy ? await membersRepo.getMember(tx, inv.orgId, inv.invitedBy) : null;
        if (!inviter || !can(inviter.role, "invitation", "create") || !canGrant(inviter.role, inv.role)) {
          throw appError("INVITATION_INVALID");
        }
        if (await membersRepo.getMember(tx, inv.orgId, actor.userId)) {
          throw appError("ALREADY_MEMBER");
        }
        try {
          await membersRepo.insertMember(tx, inv.orgId, actor.userId, inv.role);
        } catch (err) {
          if (isUniqueViolation(err, "members_org_user_uq")) throw appError("ALREADY_MEMBER");
          throw err;
        }
        await repo.update(tx, inv.id, { status: "accepted", respondedAt: new Date(), respondedBy: actor.userId });
        await setActiveOrgId(tx, actor.userId, inv.orgId);
        await tx.update(users).set({ emailVerified: true }).where(eq(users.id, actor.userId));
        await recordAudit(tx, actor, {
          orgId: inv.orgId,
          action: "invitation.accepted",
          targetType: "member",
          targetId: actor.userId,
          metadata: { invitationId: inv.id, email: inv.email, role: inv.role },
        });
        return { organization: { id: inv.orgId, slug: row.orgSlug, name: row.orgName }, role: inv.role };
      });
    },

    async decline(actor: Actor, token: string) {
      await db.transaction(async (tx) => {
        const row = await loadForResponse(tx, actor, token);
        await repo.update(tx, row.inv.id, { status: "declined", respondedAt: new Date(), respondedBy: actor.userId });
        await recordAudit(tx, actor, {
          orgId: row.inv.orgId,
          action: "invitation.declined",
          targetType: "invitation",
          targetId: row.inv.id,
          metadata: { email: row.inv.email, role: row.inv.role },
        });
      });
    },
  };
}

export type InvitationService = ReturnType<typeof createInvitationService>;
