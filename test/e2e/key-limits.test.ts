/**
 * A key's limits and the budget per end user in a real browser: the owner
 * creates a key with a $0.01 daily budget in the create dialog's limits
 * section (a bad amount is refused on its field), spends some of it through
 * the gateway, and sees the spend against the budget in the key list after a
 * reload; edits the key's limits to allow only mock/echo (a model outside the
 * project's is refused on the field) and clears its budget; and sets the
 * project's budget per end user in the project settings. `mock/echo` is priced
 * through TOLLGATE_PRICE_OVERRIDES and the organization holds granted credits.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD, uniqueEmail } from "../helpers/app.js";
import { grantCredits, personalSlug } from "../helpers/fixtures.js";
import { count, type E2E, HAS_CHROMIUM, hasText, SKIP_REASON, startE2E, value, visible, signIn } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

/** Micro-USD as the dashboard writes it: "$0.0047" (at least cents, trailing zeros dropped). */
const dollars = (micro: bigint) => {
  const frac = (micro % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
  return `$${micro / 1_000_000n}.${frac}`;
};
const micro = (usd: string | null) => (usd ? BigInt(Math.round(Number(usd) * 1_000_000)) : 0n);

describe.skipIf(!HAS_CHROMIUM)("key limits and end-user budgets in the dashboard", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let owner: Client;
  let slug = "";
  let key = "";
  const email = uniqueEmail("limits");
  const keysUrl = () => `${e.origin}/${slug}/projects/chat/keys`;

  const chat = (model: string) =>
    fetch(`${e.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, max_tokens: 20, messages: [{ role: "user", content: "count my spend" }] }),
    });

  beforeAll(async () => {
    e = await startE2E({
      env: { TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "10", output: "100" } }) },
    });
    owner = await e.t.signUp({ email, password: PASSWORD, name: "Lina Limits" });
    slug = await personalSlug(owner);
    await grantCredits(e.t, slug, "100");
    const origin = { origin: e.origin };
    const created = await owner.post(
      `/api/v1/orgs/${slug}/projects`,
      { name: "Chat", slug: "chat", allowedModels: ["mock/*"] },
      origin,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    ({ page } = await signIn(e, email, { width: 1400 }));
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("creates a key with a daily budget, and the list shows its spend against it", async () => {
    await page.goto(keysUrl());
    await page.getByRole("button", { name: "Create your first key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create API key" });
    await dialog.getByLabel("Name").fill("capped");
    await dialog.getByRole("button", { name: /Limits \(optional\)/ }).click();
    const budget = dialog.getByLabel("Budget (USD)", { exact: true });
    // A bad amount is refused on its field, with the server's message.
    await budget.fill("ten cents");
    await dialog.getByRole("button", { name: "Create key" }).click();
    await hasText(dialog, /Must be a decimal number of US dollars/);
    await budget.fill("0.01");
    await dialog.getByRole("combobox", { name: "Budget period" }).click();
    await page.getByRole("option", { name: "Per day (UTC)" }).click();
    await dialog.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByTestId("new-key-value");
    await hasText(shown, "tg_live_");
    key = (await shown.textContent())!.trim();
    await page.getByRole("button", { name: "I have stored the key" }).click();
    const row = page.getByTestId("key-capped");
    await hasText(row.getByTestId("key-budget"), "$0.00 of $0.01 today");

    // Spend some of it through the gateway.
    let spent = 0n;
    for (let i = 0; i < 3; i++) {
      const r = await chat("mock/echo");
      expect(r.status, await r.clone().text()).toBe(200);
      spent += micro(r.headers.get("x-tollgate-cost-usd"));
      await r.arrayBuffer();
    }
    expect(spent).toBeGreaterThan(0n);
    expect(spent).toBeLessThan(10_000n);
    await e.t.app.flushLogs();

    await page.reload();
    await hasText(page.getByTestId("key-capped").getByTestId("key-budget"), `${dollars(spent)} of $0.01 today`);
    const used = Math.round(Number(spent) / 100); // of 10,000 micro-USD, in percent
    await visible(page.getByTestId("key-capped").getByRole("progressbar", { name: `Budget used: ${used}%` }));
  });

  it("edits the key's limits: only mock/echo (a model outside the project's is refused), then no budget", async () => {
    const row = page.getByTestId("key-capped");
    await row.getByRole("button", { name: "Edit limits" }).click();
    const dialog = page.getByRole("dialog", { name: "Limits of “capped”" });
    await value(dialog.getByLabel("Budget (USD)", { exact: true }), "0.01");
    const models = dialog.getByRole("combobox", { name: "Allowed models" });
    // The project's allowed models are offered.
    await models.click();
    await visible(page.getByRole("option", { name: "mock/*" }));
    await models.fill("openai/gpt-4o");
    await models.press("Enter");
    await dialog.getByRole("button", { name: "Save limits" }).click();
    await hasText(dialog, /the project does not allow openai\/gpt-4o/);
    await models.press("Backspace");
    await models.fill("mock/echo");
    await models.press("Enter");
    await dialog.getByRole("button", { name: "Save limits" }).click();
    await visible(page.getByText("Limits of “capped” saved."));
    await count(dialog, 0);
    await hasText(row.getByTestId("key-models"), "Models: mock/echo");
    // The budget stays as it was.
    await hasText(row.getByTestId("key-budget"), "of $0.01 today");

    const listed = (await owner.get(`/api/v1/orgs/${slug}/projects/chat/keys`)).body.keys[0];
    expect(listed).toMatchObject({ allowedModels: ["mock/echo"], budget: { amountUsd: "0.010000", period: "day" } });
    expect((await chat("mock/echo")).status).toBe(200);
    expect((await chat("mock/lorem")).status).toBe(403);

    // Clearing the amount removes the budget.
    await row.getByRole("button", { name: "Edit limits" }).click();
    await dialog.getByLabel("Budget (USD)", { exact: true }).fill("");
    await dialog.getByRole("button", { name: "Save limits" }).click();
    await count(dialog, 0);
    await count(row.getByTestId("key-budget"), 0);
    await hasText(row.getByTestId("key-models"), "Models: mock/echo");
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/chat/keys`)).body.keys[0].budget).toBeNull();
  });

  it("sets the budget per end user in the project settings", async () => {
    await page.goto(`${e.origin}/${slug}/projects/chat/settings`);
    const section = page.getByTestId("end-user-budget-settings");
    await hasText(section, /OpenAI's user field\) are refused/);
    await hasText(section, /requests without one are not counted/);
    const amount = section.getByLabel("Budget per end user (USD)");
    await value(amount, "");
    await amount.fill("0.5");
    await section.getByRole("combobox", { name: "End-user budget period" }).click();
    await page.getByRole("option", { name: "Per day (UTC)" }).click();
    await page.getByRole("button", { name: "Save settings" }).click();
    await visible(page.getByText("Project settings saved."));
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/chat`)).body.endUserBudget).toMatchObject({
      amountUsd: "0.500000",
      period: "day",
    });

    await page.reload();
    await value(page.getByLabel("Budget per end user (USD)"), "0.5");
    await value(page.getByRole("combobox", { name: "End-user budget period" }), "Per day (UTC)");

    // Emptied: no budget.
    await page.getByLabel("Budget per end user (USD)").fill("");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect
      .poll(async () => (await owner.get(`/api/v1/orgs/${slug}/projects/chat`)).body.endUserBudget, {
        timeout: 20_000,
      })
      .toBeNull();
  });
});
