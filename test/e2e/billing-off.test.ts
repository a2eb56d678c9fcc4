/**
 * The billing page in a real browser on an instance without prepaid credits
 * (TOLLGATE_BILLING=off): no balance, no adding credits, no auto top-up or
 * payment methods, no low-balance alert — a sentence saying credits are off,
 * this month's spend, the usage charts and the budget alerts.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import { count, type E2E, hasText, HAS_CHROMIUM, newPage, SKIP_REASON, startE2E, visible } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

describe.skipIf(!HAS_CHROMIUM)("billing page with prepaid credits off", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let slug = "";
  const email = uniqueEmail("credits-off");

  beforeAll(async () => {
    e = await startE2E({
      env: {
        TOLLGATE_BILLING: "off",
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "2" } }),
      },
    });
    const owner = await e.t.signUp({ email, password: PASSWORD, name: "Nora Nocredit" });
    slug = await personalSlug(owner);
    // The server's PUBLIC_URL is the browser origin here: the CSRF guard wants it on changes.
    const origin = { origin: e.origin };
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Internal", slug: "internal" }, origin)).status,
    ).toBe(201);
    const key = (
      await owner.post(`/api/v1/orgs/${slug}/projects/internal/keys`, { name: "k", environment: "live" }, origin)
    ).body.key as string;
    const res = await fetch(`${e.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "metered, not prepaid" }] }),
    });
    expect(res.status).toBe(200);
    await e.t.app.flushLogs();
    page = await newPage(e, { height: 800 });
  }, 120_000);

  // Closing Chromium on a machine busy with the other suites can take longer than the default minute.
  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("shows spend and usage instead of a balance, and offers no low-balance alert", async () => {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    await page.goto(`${e.origin}/${slug}/settings/billing`);

    await hasText(page.getByTestId("billing-credits-off"), /Prepaid credits are off on this instance/);
    await hasText(page.getByTestId("billing-month-spend"), /^\$0\.0000/);
    await hasText(page.getByTestId("billing-usage-totals"), /^1 requests/);
    await visible(page.getByLabel("Monthly budget (USD)"));
    await count(page.getByTestId("billing-balance"), 0);
    await count(page.getByTestId("add-credits-offline"), 0);
    await count(page.getByText("Add credits"), 0);
    await count(page.getByLabel("Low balance (USD)"), 0);

    // Saving the alerts sends no low-balance threshold (the API would refuse one).
    await page.getByLabel("Monthly budget (USD)").fill("50");
    await page.getByRole("button", { name: "Save alerts" }).click();
    await visible(page.getByText("Billing alerts saved."));
  });
});
