/**
 * The playground in a real browser: a signed-in owner picks a model, sends a message, watches the
 * answer stream in word by word, and sees what the gateway said about the call (provider, tokens, cost,
 * the policy verdict); the call is in the request log and in the ledger at exactly the cost shown, and
 * the playground key is listed with the project's keys.
 */
import { sql } from "drizzle-orm";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD, uniqueEmail } from "../helpers/app.js";
import { grantCredits, personalSlug, rows } from "../helpers/fixtures.js";
import {
  count,
  type E2E,
  HAS_CHROMIUM,
  hasText,
  SKIP_REASON,
  screenshot,
  startE2E,
  visible,
  signIn,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

describe.skipIf(!HAS_CHROMIUM)("the playground", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let slug = "";
  let owner: Client;
  const email = uniqueEmail("play");

  beforeAll(async () => {
    e = await startE2E({
      env: {
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({
          "mock/echo": { input: "1", output: "2" },
          "mock/lorem": { input: "1", output: "2" },
        }),
      },
    });
    owner = await e.t.signUp({ email, password: PASSWORD, name: "Pat Player" });
    slug = await personalSlug(owner);
    await grantCredits(e.t, slug, "5");
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Chat app", slug: "chat" }, { origin: e.origin }))
        .status,
    ).toBe(201);
    ({ page } = await signIn(e, email));
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("streams an answer and shows what the gateway said about the call", async () => {
    await page.goto(`${e.origin}/${slug}/projects/chat`);
    await page.getByRole("tab", { name: "Playground" }).click();
    await page.waitForURL(/\/projects\/chat\/playground$/);
    await page.getByRole("combobox", { name: "Model" }).click();
    await page.getByRole("option", { name: "mock/lorem" }).click();
    await page.getByRole("textbox", { name: "Max output tokens" }).fill("40");
    await page.getByRole("textbox", { name: "Message" }).fill("Tell me something");
    await page.getByRole("button", { name: "Send" }).click();
    // Word by word: the answer is on screen before it is complete.
    const streaming = page.getByTestId("playground-streaming");
    await hasText(streaming, /lorem ipsum/i);
    await visible(page.getByRole("button", { name: "Stop" }));
    const facts = page.getByTestId("playground-facts");
    await visible(facts);
    await expect.poll(() => streaming.count()).toBe(0);
    await hasText(facts.locator("[data-fact=provider]"), "mock");
    await hasText(facts.locator("[data-fact=model]"), "lorem");
    await hasText(facts.locator("[data-fact=tokens]"), /^\d+ in · \d+ out$/);
    await hasText(facts.locator("[data-fact=policy]"), "no findings");
    const shown = (await facts.locator("[data-fact=cost]").textContent())!.replace("$", "");
    await screenshot(page, "playground");

    // Billed at exactly the cost shown, and logged with the person's playground key.
    await e.t.app.flushLogs();
    const [logged] = await rows<{ cost: string; key: string }>(
      e.t,
      sql`select l.cost_micro_usd::text as cost, k.name as key from request_logs l join api_keys k on k.id = l.key_id where l.endpoint = 'chat'`,
    );
    expect(logged!.key).toBe(`Playground · ${email}`);
    expect(Number(logged!.cost)).toBeGreaterThan(0);
    expect(Math.round(Number(shown) * 1e6)).toBe(Number(logged!.cost));
    const [ledger] = await rows<{ s: string }>(
      e.t,
      sql`select coalesce(sum(amount_micro_usd), 0)::text as s from ledger_entries where kind = 'usage'`,
    );
    expect(BigInt(ledger!.s)).toBe(-BigInt(logged!.cost));

    // The call is in the request log; the key is listed with the project's keys.
    await page.getByRole("link", { name: "View the log record" }).click();
    await page.waitForURL(/\/projects\/chat\/logs\/[0-9a-f-]{36}$/);
    await hasText(page.getByTestId("log-policy"), "found nothing");
    await page.goto(`${e.origin}/${slug}/projects/chat/keys`);
    await hasText(page.getByRole("table"), `Playground · ${email}`);
  });

  it("shows the policy's verdict: a redaction on the answer, a refusal as the gateway's error", async () => {
    const policy = (body: unknown) =>
      owner.put(`/api/v1/orgs/${slug}/projects/chat/security-policy`, body, { origin: e.origin });
    expect((await policy({ pii: { email: "redact", ip: "block" } })).status).toBe(200);
    await page.goto(`${e.origin}/${slug}/projects/chat/playground`);
    await page.getByRole("combobox", { name: "Model" }).click();
    await page.getByRole("option", { name: "mock/echo" }).click();
    await page.getByRole("textbox", { name: "Message" }).fill("write to pat@example.com");
    await page.getByRole("button", { name: "Send" }).click();
    const facts = page.getByTestId("playground-facts");
    await hasText(facts.locator("[data-fact=policy]"), /finding.*redact/);
    // The model got (and so echoed) the redacted text.
    const answer = page.locator("[data-testid=playground-turn][data-role=assistant]").last();
    await hasText(answer, /write to/);
    expect(await answer.textContent()).not.toContain("pat@example.com");

    await page.getByRole("textbox", { name: "Message" }).fill("ping 10.1.2.3");
    await page.getByRole("button", { name: "Send" }).click();
    await count(page.getByTestId("playground-error"), 1);
    await hasText(page.getByTestId("playground-error"), /request/i);
  });
});
