/**
 * Password reset in a real browser: "Forgot password?" on the sign-in page →
 * the mailed link → the reset page → sign in with the new password.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { type E2E, HAS_CHROMIUM, newPage, SKIP_REASON, startE2E, visible } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const NEW_PASSWORD = "a brand new passphrase 42";

describe.skipIf(!HAS_CHROMIUM)("password reset in the dashboard", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  const email = uniqueEmail("forgot");

  beforeAll(async () => {
    e = await startE2E();
    await e.t.signUp({ email, password: PASSWORD, name: "Fred Forgot" });
    page = await newPage(e, { height: 800 });
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("forgot → mail → reset page → sign in with the new password", async () => {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("link", { name: "Forgot password?" }).click();
    await page.waitForURL(/\/forgot-password/);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await visible(page.getByTestId("reset-requested"));

    const mail = await e.smtp.waitFor(email);
    const link = /(http\S+\/reset-password\?token=\S+)/.exec(mail.text ?? "")?.[1];
    expect(link).toMatch(new RegExp(`^${e.origin}/reset-password\\?token=`));

    await page.goto(link!);
    await page.getByLabel(/^New password/).fill(NEW_PASSWORD);
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Set new password" }).click();
    await visible(page.getByTestId("password-reset-done"));

    await page.getByRole("link", { name: "Sign in" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    expect(await page.evaluate(() => fetch("/api/v1/me").then((r) => r.status))).toBe(200);

    // The link worked once.
    await page.goto(link!);
    await page.getByLabel(/^New password/).fill("yet another passphrase");
    await page.getByLabel("Confirm new password").fill("yet another passphrase");
    await page.getByRole("button", { name: "Set new password" }).click();
    await visible(page.getByText("This link cannot be used"));
  });
});
