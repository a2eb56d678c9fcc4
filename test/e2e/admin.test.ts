/**
 * The admin area in a real browser: an instance operator signs in, opens Admin
 * from the profile menu, grants credits to an organization with a note, and
 * sees the new balance in the list.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import { type E2E, HAS_CHROMIUM, hasText, newPage, SKIP_REASON, startE2E, visible } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const OPERATOR = uniqueEmail("operator");

describe.skipIf(!HAS_CHROMIUM)("the admin area in the dashboard", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let slug = "";

  beforeAll(async () => {
    e = await startE2E({ env: { TOLLGATE_ADMIN_EMAILS: OPERATOR } });
    await e.t.signUp({ email: OPERATOR, password: PASSWORD, name: "Opal Operator" });
    const owner = await e.t.signUp({ name: "Otto Owner" });
    slug = await personalSlug(owner);
    page = await newPage(e, { height: 800 });
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("an operator grants credits from the admin area", async () => {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(OPERATOR);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));

    await page.getByTestId("profile-menu").click();
    await page.getByRole("menuitem", { name: "Admin" }).click();
    await page.waitForURL(/\/admin$/);
    const row = page.getByTestId(`admin-org-${slug}`);
    await hasText(row.getByTestId("balance"), "$0.000000");

    await row.getByRole("button", { name: "Credits" }).click();
    const dialog = page.getByRole("dialog");
    await visible(dialog);
    await dialog.getByLabel("Amount (USD)").fill("40");
    await dialog.getByLabel("Note").fill("launch credit");
    await dialog.getByRole("button", { name: "Save" }).click();
    await hasText(row.getByTestId("balance"), "$40.000000");

    const res = await e.t.anon.get("/api/v1/admin/orgs");
    expect(res.status).toBe(404);
  });
});
