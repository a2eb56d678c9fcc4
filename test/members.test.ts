/**
 * Members, the last owner and ownership transfer: exactly one owner before and
 * after every change, races included (checked in the members table itself).
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, joinOrg, ownerRows, team } from "./helpers/fixtures.js";

describe(`members and ownership (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const rolesOf = async (c: { get: (u: string) => Promise<{ body: any }> }, slug: string) =>
    Object.fromEntries(
      ((await c.get(`/api/v1/orgs/${slug}/members`)).body.members as Array<{ userId: string; role: string }>).map(
        (m) => [m.userId, m.role],
      ),
    );

  it("every role sees the member list with roles", async () => {
    const { owner, admin, member, slug } = await team(t);
    for (const c of [owner, admin, member]) {
      const res = await c.get(`/api/v1/orgs/${slug}/members`);
      expect(res.status).toBe(200);
      expect(Object.fromEntries(res.body.members.map((m: any) => [m.email, m.role]))).toEqual({
        [owner.user!.email]: "owner",
        [admin.user!.email]: "admin",
        [member.user!.email]: "member",
      });
    }
  });

  it("the owner cannot leave, be removed or be demoted", async () => {
    const { owner, admin, org, slug } = await team(t);
    const leave = await owner.post(`/api/v1/orgs/${slug}/leave`);
    expect(leave.status).toBe(409);
    expect(leave.body.error.code).toBe("OWNER_CANNOT_LEAVE");

    const remove = await owner.delete(`/api/v1/orgs/${slug}/members/${owner.user!.id}`);
    expect(remove.status).toBe(409);
    expect(remove.body.error.code).toBe("OWNER_CANNOT_BE_REMOVED");

    for (const role of ["admin", "member"]) {
      const demote = await owner.patch(`/api/v1/orgs/${slug}/members/${owner.user!.id}`, { role });
      expect(demote.status).toBe(409);
      expect(demote.body.error.code).toBe("OWNER_ROLE_LOCKED");
    }
    // Admins lack the capability altogether.
    expect((await admin.delete(`/api/v1/orgs/${slug}/members/${owner.user!.id}`)).status).toBe(403);
    expect((await admin.patch(`/api/v1/orgs/${slug}/members/${owner.user!.id}`, { role: "member" })).status).toBe(403);
    expect((await ownerRows(t, org.id)).map((r) => r.user_id)).toEqual([owner.user!.id]);
  });

  it("admins and members cannot remove members or change roles (403)", async () => {
    const { owner, admin, member, slug } = await team(t);
    for (const c of [admin, member]) {
      const patch = await c.patch(`/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "admin" });
      expect(patch.status).toBe(403);
      expect(patch.body.error.code).toBe("FORBIDDEN");
      const del = await c.delete(`/api/v1/orgs/${slug}/members/${member.user!.id}`);
      expect(del.status).toBe(403);
    }
    // The admin cannot promote themselves either.
    expect((await admin.patch(`/api/v1/orgs/${slug}/members/${admin.user!.id}`, { role: "admin" })).status).toBe(403);
    expect(await rolesOf(owner, slug)).toMatchObject({ [admin.user!.id]: "admin", [member.user!.id]: "member" });
  });

  it("the owner changes roles and removes members; a member can leave", async () => {
    const { owner, admin, member, slug } = await team(t);
    const promoted = await owner.patch(`/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "admin" });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ userId: member.user!.id, role: "admin" });
    const toOwner = await owner.patch(`/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "owner" });
    expect(toOwner.status).toBe(400);
    expect(toOwner.body.error.code).toBe("VALIDATION_ERROR");

    expect((await owner.delete(`/api/v1/orgs/${slug}/members/${admin.user!.id}`)).status).toBe(204);
    expect((await admin.get(`/api/v1/orgs/${slug}`)).status).toBe(404);
    const unknown = await owner.delete(`/api/v1/orgs/${slug}/members/${admin.user!.id}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("MEMBER_NOT_FOUND");

    expect((await member.post(`/api/v1/orgs/${slug}/leave`)).status).toBe(204);
    expect((await member.get(`/api/v1/orgs/${slug}/members`)).status).toBe(404);
    expect(Object.keys(await rolesOf(owner, slug))).toEqual([owner.user!.id]);
  });

  it("transfer makes the target owner and the old owner admin; exactly one owner", async () => {
    const { owner, admin, member, org, slug } = await team(t);
    expect((await admin.post(`/api/v1/orgs/${slug}/transfer`, { userId: admin.user!.id })).status).toBe(403);

    const res = await owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: member.user!.id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      previousOwner: { userId: owner.user!.id, role: "admin" },
      newOwner: { userId: member.user!.id, role: "owner" },
    });
    const roles = await rolesOf(owner, slug);
    expect(roles).toEqual({ [owner.user!.id]: "admin", [admin.user!.id]: "admin", [member.user!.id]: "owner" });
    expect(Object.values(roles).filter((r) => r === "owner")).toHaveLength(1);
    expect((await ownerRows(t, org.id)).map((r) => r.user_id)).toEqual([member.user!.id]);

    // The old owner is an admin now: no more transfer, and can leave.
    expect((await owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: owner.user!.id })).status).toBe(403);
    const meOld = await owner.get("/api/v1/me");
    expect(meOld.body.organizations).toContainEqual(expect.objectContaining({ slug, role: "admin" }));
    expect((await member.post(`/api/v1/orgs/${slug}/leave`)).body.error.code).toBe("OWNER_CANNOT_LEAVE");
    expect((await owner.post(`/api/v1/orgs/${slug}/leave`)).status).toBe(204);
  });

  it("transfer to a non-member is 404 and to yourself 400; nothing changes", async () => {
    const { owner, org, slug } = await team(t);
    const stranger = await t.signUp();
    const res = await owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: stranger.user!.id });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("MEMBER_NOT_FOUND");
    const self = await owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: owner.user!.id });
    expect(self.status).toBe(400);
    expect((await ownerRows(t, org.id)).map((r) => r.user_id)).toEqual([owner.user!.id]);
    expect(await count(t, "members", sql`org_id = ${org.id} and user_id = ${stranger.user!.id}`)).toBe(0);
  });

  it("concurrent transfers to two members: one wins, exactly one owner row", async () => {
    for (let round = 0; round < 3; round++) {
      const { owner, admin, member, org, slug } = await team(t);
      const [a, b] = await Promise.all([
        owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: admin.user!.id }),
        owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: member.user!.id }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 403]);
      const winner = a.status === 200 ? admin : member;
      expect((await ownerRows(t, org.id)).map((r) => r.user_id)).toEqual([winner.user!.id]);
      expect(await count(t, "members", sql`org_id = ${org.id}`)).toBe(3);
    }
  });

  it("transfer racing a role change of the target: exactly one owner row", async () => {
    for (let round = 0; round < 3; round++) {
      const { owner, admin, org, slug } = await team(t);
      const [transfer, patch] = await Promise.all([
        owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: admin.user!.id }),
        owner.patch(`/api/v1/orgs/${slug}/members/${admin.user!.id}`, { role: "member" }),
      ]);
      expect(transfer.status).toBe(200);
      // Either the demotion ran first (then transfer), or the transfer ran first and the old owner lost the right (403).
      expect([200, 403]).toContain(patch.status);
      expect((await ownerRows(t, org.id)).map((r) => r.user_id)).toEqual([admin.user!.id]);
      expect((await rolesOf(owner, slug))[owner.user!.id]).toBe("admin");
    }
  });

  it("transfer racing removal of the target: exactly one owner row, and never a removed owner", async () => {
    for (let round = 0; round < 3; round++) {
      const { owner, admin, org, slug } = await team(t);
      const [transfer, remove] = await Promise.all([
        owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: admin.user!.id }),
        owner.delete(`/api/v1/orgs/${slug}/members/${admin.user!.id}`),
      ]);
      const owners = (await ownerRows(t, org.id)).map((r) => r.user_id);
      expect(owners).toHaveLength(1);
      if (transfer.status === 200) {
        expect(remove.status).toBe(403);
        expect(owners).toEqual([admin.user!.id]);
      } else {
        expect(transfer.status).toBe(404);
        expect(remove.status).toBe(204);
        expect(owners).toEqual([owner.user!.id]);
      }
    }
  });

  it("removing a member deletes exactly that membership and nobody else's", async () => {
    const { owner, admin, member, org, slug } = await team(t);
    const extra = await joinOrg(t, admin, slug, "member");
    expect((await owner.delete(`/api/v1/orgs/${slug}/members/${member.user!.id}`)).status).toBe(204);
    expect(await count(t, "members", sql`org_id = ${org.id}`)).toBe(3);
    expect((await extra.get(`/api/v1/orgs/${slug}`)).status).toBe(200);
  });
});
