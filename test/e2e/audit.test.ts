/**
 * The audit log in a real browser: an owner changes a member's role and creates a project key; the
 * audit page tells it in sentences with relative times, expanding an entry shows what changed
 * (role: member → admin), filtering by action, by actor and by dates narrows the list (and stays
 * in the URL), and a member without audit access sees neither the nav link nor the page.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD, uniqueEmail } from "../helpers/app.js";
import { inviteToken } from "../helpers/smtp.js";
import {
  changeAtOnce,
  count,
  type E2E,
  HAS_CHROMIUM,
  hasText,
  SKIP_REASON,
  signIn,
  startE2E,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

describe.skipIf(!HAS_CHROMIUM)("the audit log in a browser", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let slug = "";
  const OWNER = { name: "Olga Owner", email: uniqueEmail("olga") };
  const BOB = { name: "Bob Member", email: uniqueEmail("bob") };
  const MIA = { name: "Mia Member", email: uniqueEmail("mia") };

  beforeAll(async () => {
    e = await startE2E();
    const H = { origin: e.origin };
    const owner = await e.t.signUp({ ...OWNER, password: PASSWORD });
    const org = await owner.post("/api/v1/orgs", { name: "Audit Co" }, H);
    expect(org.status).toBe(201);
    slug = org.body.slug;
    const join = async (who: { name: string; email: string }): Promise<Client> => {
      const c = await e.t.signUp({ ...who, password: PASSWORD });
      expect(
        (await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: who.email, role: "member" }, H)).status,
      ).toBe(201);
      const token = inviteToken(await e.smtp.waitFor(who.email, 10_000));
      expect((await c.post(`/api/v1/invitations/${token}/accept`, undefined, H)).status).toBe(200);
      return c;
    };
    const bob = await join(BOB);
    await join(MIA);
    const role = await owner.patch(`/api/v1/orgs/${slug}/members/${bob.user!.id}`, { role: "admin" }, H);
    expect(role.status).toBe(200);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Web app", slug: "web-app" }, H)).status).toBe(
      201,
    );
    const key = await owner.post(`/api/v1/orgs/${slug}/projects/web-app/keys`, { name: "ci", environment: "live" }, H);
    expect(key.status).toBe(201);
    ({ page } = await signIn(e, OWNER.email));
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  const rows = () => page.getByTestId("audit-row");
  const row = (text: string) => rows().filter({ hasText: text });

  it("tells each entry as a sentence, with a relative time and the exact time as its tooltip", async () => {
    await page.goto(`${e.origin}/${slug}`);
    await page.getByRole("navigation").getByRole("link", { name: "Audit log" }).click();
    await page.waitForURL(`${e.origin}/${slug}/audit`);
    const table = page.getByRole("table", { name: "Audit log" });
    await visible(table);
    await hasText(row("role"), "Olga Owner changed Bob Member's role from member to admin");
    await hasText(row("API key"), "Olga Owner created the API key “ci” in project Web app");
    await hasText(row("created the project"), "Olga Owner created the project Web app");
    await hasText(row(`invited ${BOB.email}`), `Olga Owner invited ${BOB.email} as member`);
    await hasText(row("Bob Member accepted"), "Bob Member accepted the invitation and joined as member");
    await hasText(row("created the organization"), "Olga Owner created the organization “Audit Co”");
    await count(rows(), 8);
    const time = row("role").getByTestId("audit-time");
    await hasText(time, "just now");
    expect(await time.getAttribute("title")).toMatch(/\d/);
    // The actor's email is the name's tooltip.
    expect(await row("role").getByText("Olga Owner").getAttribute("title")).toBe(OWNER.email);
  });

  it("expanding an entry shows what changed, before → after", async () => {
    const r = row("role");
    await r.getByRole("button", { name: "Show details" }).click();
    const diff = page.getByTestId("audit-diff");
    await visible(diff);
    await hasText(diff.getByTestId("audit-change"), /role:\s*member\s*→\s*admin/);
    await page.getByRole("button", { name: "Hide details" }).click();
    await count(page.getByTestId("audit-diff"), 0);
    // An entry without a before and after shows its details instead.
    await row("API key").getByRole("button", { name: "Show details" }).click();
    await hasText(page.getByTestId("audit-metadata"), /"projectSlug": "web-app"/);
  });

  it("filters by action and by actor, in the URL, and clears", async () => {
    await page.getByRole("combobox", { name: "Action" }).click();
    await page.getByRole("option", { name: "Member role changed" }).click();
    await count(rows(), 1);
    await hasText(rows(), "changed Bob Member's role from member to admin");
    expect(new URL(page.url()).searchParams.get("action")).toBe("member.role_changed");

    await page.getByRole("button", { name: "Clear filters" }).click();
    await count(rows(), 8);
    await page.getByRole("combobox", { name: "Actor" }).click();
    await page.getByRole("option", { name: /Bob Member/ }).click();
    await count(rows(), 1);
    await hasText(rows(), "Bob Member accepted the invitation");

    // Actor and action combine; a reload keeps the filters.
    await page.getByRole("combobox", { name: "Actor" }).click();
    await page.getByRole("option", { name: /Olga Owner/ }).click();
    await page.getByRole("combobox", { name: "Action" }).click();
    await page.getByRole("option", { name: "Invitation sent" }).click();
    await count(rows(), 2);
    await page.reload();
    await count(rows(), 2);
    await hasText(rows(), "Olga Owner invited");
  });

  it("filters by dates", async () => {
    await page.getByRole("button", { name: "Clear filters" }).click();
    await count(rows(), 8);
    const day = (offset: number) => {
      const d = new Date(Date.now() + offset * 86_400_000);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    };
    await page.getByRole("textbox", { name: "From", exact: true }).fill(day(1));
    await visible(page.getByTestId("audit-empty"));
    await count(rows(), 0);
    await page.getByRole("textbox", { name: "From", exact: true }).fill(day(0));
    await count(rows(), 8);
    await page.getByRole("textbox", { name: "To", exact: true }).fill(day(-1));
    await visible(page.getByText("To must be on or after From."));
  });

  it("two changes made before the page renders again both stay (the second does not undo the first)", async () => {
    await page.getByRole("button", { name: "Clear filters" }).click();
    await count(rows(), 8);
    // The second change must start from the URL the first one made, not from the page's last render.
    await changeAtOnce(page.getByRole("search").locator('input[type="date"]'), ["2026-01-01", "2099-12-31"]);
    await expect.poll(() => new URL(page.url()).search).toBe("?from=2026-01-01&to=2099-12-31");
    await count(rows(), 8);
  });

  it("a member without audit access sees neither the link nor the page", async () => {
    const { page: mia } = await signIn(e, MIA.email);
    await mia.goto(`${e.origin}/${slug}`);
    const nav = mia.getByRole("navigation");
    await visible(nav.getByRole("link", { name: "Team" }));
    await count(nav.getByRole("link", { name: "Audit log" }), 0);
    await mia.goto(`${e.origin}/${slug}/audit`);
    await hasText(mia.getByTestId("no-access"), "The audit log is available to owners and admins");
    await count(mia.getByRole("table", { name: "Audit log" }), 0);
  });
});
