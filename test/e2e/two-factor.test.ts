/**
 * Two-factor authentication in a real browser: enrol from the profile menu
 * (password, the otpauth URI shown as text, a code from it, the backup codes
 * shown once), then a fresh browser's sign-in asks for the code and lands in
 * the organization. Codes are computed as an authenticator app would.
 */
import { base32 } from "@better-auth/utils/base32";
import { createOTP } from "@better-auth/utils/otp";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import { type E2E, HAS_CHROMIUM, hasText, newPage, SKIP_REASON, startE2E, visible } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

async function codeFor(uri: string): Promise<string> {
  const secret = new URL(uri).searchParams.get("secret") ?? "";
  return createOTP(base32.decode(secret), { digits: 6, period: 30 }).totp();
}

describe.skipIf(!HAS_CHROMIUM)("two-factor authentication in the dashboard", { timeout: 120_000 }, () => {
  let e: E2E;
  let slug = "";
  const email = uniqueEmail("two-factor");

  async function page(): Promise<Page> {
    return newPage(e, { height: 800 });
  }

  async function passwordStep(p: Page) {
    await p.goto(`${e.origin}/sign-in`);
    await p.getByLabel("Email").fill(email);
    await p.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await p.getByRole("button", { name: "Sign in" }).click();
  }

  beforeAll(async () => {
    e = await startE2E();
    slug = await personalSlug(await e.t.signUp({ email, password: PASSWORD, name: "Tess Totp" }));
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("enrols from the profile menu, then sign-in asks for the code", async () => {
    const laptop = await page();
    await passwordStep(laptop);
    await laptop.waitForURL((u) => !u.pathname.startsWith("/sign-in"));

    await laptop.getByTestId("profile-menu").click();
    await laptop.getByRole("menuitem", { name: "Two-factor authentication" }).click();
    const dialog = laptop.getByRole("dialog", { name: "Two-factor authentication" });
    await dialog.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await dialog.getByRole("button", { name: "Continue" }).click();
    await visible(dialog.getByTestId("totp-uri"));
    const uri = ((await dialog.getByTestId("totp-uri").textContent()) ?? "").replace(/\s+/g, "");
    expect(uri).toMatch(/^otpauth:\/\/totp\/Tollgate/);
    await dialog.getByLabel("Code from your authenticator app").fill(await codeFor(uri));
    await dialog.getByRole("button", { name: "Turn on" }).click();
    await hasText(dialog.getByTestId("two-factor-on"), "Two-factor authentication is on.");
    await visible(dialog.getByTestId("backup-codes"));
    await dialog.getByRole("button", { name: "Done" }).click();

    const phone = await page();
    await passwordStep(phone);
    await visible(phone.getByTestId("two-factor-step"));
    expect(await phone.evaluate(() => fetch("/api/v1/me").then((r) => r.status))).toBe(401);
    await phone.getByLabel("Code from your authenticator app").fill(await codeFor(uri));
    await phone.getByRole("button", { name: "Verify" }).click();
    await phone.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    await hasText(phone.getByTestId("org-switcher"), "Tess Totp");
    expect(new URL(phone.url()).pathname.startsWith(`/${slug}`)).toBe(true);
  });
});
