/**
 * Change password in a real browser: the profile menu's form says other
 * sessions end, the change signs out the user's other browser, and this one
 * stays signed in (on the fresh cookie the server set).
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import { type E2E, exactText, HAS_CHROMIUM, hasText, SKIP_REASON, startE2E, visible } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const NEW_PASSWORD = "a brand new passphrase 42";

describe.skipIf(!HAS_CHROMIUM)("change password in the dashboard", { timeout: 120_000 }, () => {
  let e: E2E;
  let laptopCtx: BrowserContext;
  let phoneCtx: BrowserContext;
  let laptop: Page;
  let phone: Page;
  let slug = "";
  const email = uniqueEmail("change-pw");

  async function signIn(page: Page, password: string) {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
  }

  beforeAll(async () => {
    e = await startE2E();
    slug = await personalSlug(await e.t.signUp({ email, password: PASSWORD, name: "Pat Password" }));
    laptopCtx = await e.browser.newContext({ viewport: { width: 1280, height: 800 } });
    phoneCtx = await e.browser.newContext({ viewport: { width: 1280, height: 800 } });
    laptopCtx.setDefaultTimeout(20_000);
    phoneCtx.setDefaultTimeout(20_000);
    laptop = await laptopCtx.newPage();
    phone = await phoneCtx.newPage();
  }, 120_000);

  // Closing Chromium on a machine busy with the other suites can take longer than the default minute.
  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("says other sessions are signed out, and they are; this browser stays in", async () => {
    await signIn(laptop, PASSWORD);
    await signIn(phone, PASSWORD);

    await laptop.getByTestId("profile-menu").click();
    await laptop.getByRole("menuitem", { name: "Change password" }).click();
    const dialog = laptop.getByRole("dialog", { name: "Change password" });
    await visible(dialog.getByText(/signs you out everywhere else/));

    // A wrong current password is shown on its field and changes nothing.
    await dialog.getByLabel("Current password").fill("not the password at all");
    await dialog.getByLabel(/^New password/).fill(NEW_PASSWORD);
    await dialog.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await dialog.getByRole("button", { name: "Change password" }).click();
    await visible(dialog.getByText(/invalid password/i));

    await dialog.getByLabel("Current password").fill(PASSWORD);
    await dialog.getByRole("button", { name: "Change password" }).click();
    await exactText(dialog.getByTestId("password-changed"), "Password changed. Other sessions were signed out.");
    await dialog.getByRole("button", { name: "Done" }).click();

    // The other browser is sent to sign in on its next page load.
    await phone.goto(`${e.origin}/${slug}`);
    await phone.waitForURL(/\/sign-in/);
    const phoneMe = await phone.evaluate(() => fetch("/api/v1/me").then((r) => r.status));
    expect(phoneMe).toBe(401);

    // This one is still in, after a reload too.
    await laptop.reload();
    await hasText(laptop.getByTestId("org-switcher"), "Pat Password");
    expect(await laptop.evaluate(() => fetch("/api/v1/me").then((r) => r.status))).toBe(200);

    // The new password is the one that works now.
    await signIn(phone, NEW_PASSWORD);
    await hasText(phone.getByTestId("org-switcher"), "Pat Password");
  });
});
