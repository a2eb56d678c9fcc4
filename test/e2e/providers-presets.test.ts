/**
 * Presets and several credentials on the providers page in a real browser,
 * with the OpenAI fake on loopback as the vendor: an owner adds Groq from its
 * preset (the fake's address as the base URL, a key), is told how many models
 * were found, sees them listed with the price library's price (and "not
 * priced" for a model it does not know), refreshes them after the vendor adds
 * one; then gives the provider two weighted credentials, sees "2 credentials"
 * on its card (never a key), tests the connection with a result per
 * credential, and changes a weight while the stored keys are kept.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai-fake.js";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import {
  count,
  type E2E,
  HAS_CHROMIUM,
  hasText,
  lacksText,
  newPage,
  SKIP_REASON,
  startE2E,
  value,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const KEY = "gsk-dashboard-key-first-0123456789";
const KEY2 = "gsk-dashboard-key-second-9876543210";

describe.skipIf(!HAS_CHROMIUM)("Presets and several credentials on the providers page", { timeout: 120_000 }, () => {
  let e: E2E;
  let fake: OpenAIFake;
  let page: Page;
  let slug = "";
  const email = uniqueEmail("preset-owner");
  const models = ["llama-3.3-70b-versatile", "our-finetune-7b"];

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: [KEY, KEY2], models });
    e = await startE2E({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    const owner = await e.t.signUp({ email, password: PASSWORD, name: "Gil Groq" });
    slug = await personalSlug(owner);
    page = await newPage(e);
  }, 120_000);

  afterAll(async () => {
    await e?.close();
    await fake?.close();
  }, 120_000);

  it("adds Groq from its preset, lists and refreshes its models, then runs it on two credentials", async () => {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    await page.goto(`${e.origin}/${slug}/settings/general`);
    await page.getByRole("link", { name: "Providers" }).click();
    await page.getByRole("button", { name: "Add your first provider" }).click();

    // The preset's short form: the vendor's base URL prefilled, a link to where its keys are made.
    const dialog = page.getByRole("dialog", { name: "Add provider" });
    await dialog.getByRole("button", { name: "Groq", exact: true }).click();
    await value(dialog.getByLabel("Base URL"), "https://api.groq.com/openai/v1");
    await visible(dialog.getByRole("link", { name: "console.groq.com/keys" }));
    await dialog.getByLabel("API key").fill(KEY);
    await dialog.getByLabel("Base URL").fill(`${fake.url}/v1`);
    await dialog.getByRole("button", { name: "Add provider" }).click();
    await visible(page.getByText("Groq added: 2 models found."));

    const card = page.getByTestId("provider-groq");
    await hasText(card, "2 models listed by the provider");
    await lacksText(card, KEY);
    const listed = fake.requests.find((r) => r.method === "GET" && r.path === "/v1/models");
    expect(listed?.headers.authorization).toBe(`Bearer ${KEY}`);

    // The list with the price library's prices; a model it does not know is not priced.
    await card.getByRole("button", { name: "Show models" }).click();
    const table = card.getByRole("table", { name: "Discovered models of Groq" });
    const llama = table.getByRole("row").filter({ hasText: "groq/llama-3.3-70b-versatile" });
    await hasText(llama, /\t0\.590*\t0\.590*\t0\.790*\t/);
    await hasText(table.getByRole("row").filter({ hasText: "groq/our-finetune-7b" }), "not priced");

    // The vendor serves one more model: refreshing lists it.
    models.push("llama-3.1-8b-instant");
    await card.getByRole("button", { name: "Refresh models" }).click();
    await visible(page.getByText("Groq: 3 models found."));
    await hasText(card, "3 models listed by the provider");
    await hasText(table, "groq/llama-3.1-8b-instant");

    // Two credentials instead of the one key, the second weighted twice.
    await card.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit Groq" });
    await edit.getByRole("button", { name: "Add credential" }).click();
    await edit.getByLabel("Credential 1 key").fill(KEY);
    await edit.getByRole("button", { name: "Add credential" }).click();
    await edit.getByLabel("Credential 2 key").fill(KEY2);
    await edit.getByLabel("Credential 2 weight").fill("2");
    await edit.getByLabel("Credential 2 requests per minute").fill("600");
    await count(edit.getByLabel("API key", { exact: true }), 0);
    await edit.getByRole("button", { name: "Save" }).click();
    await hasText(card, "key 2 credentials");
    const creds = card.getByRole("list", { name: "Credentials of Groq" });
    await hasText(creds, /gsk…6789 · weight 1/);
    await hasText(creds, /gsk…3210 · weight 2 · 600 requests\/min/);
    await lacksText(card, KEY2);

    // The connection test asks each credential.
    await card.getByRole("button", { name: "Test connection" }).click();
    const result = card.getByTestId("provider-test-result");
    await hasText(result, /Connected: llama-3\.3-70b-versatile answered/);
    await count(result.getByTestId("provider-test-credential"), 2);
    await hasText(result.getByTestId("provider-test-credential").nth(0), /^gsk…6789: answered in \d+ ms$/);
    await hasText(result.getByTestId("provider-test-credential").nth(1), /^gsk…3210: answered in \d+ ms$/);
    const chatKeys = () =>
      fake.requests.filter((r) => r.path === "/v1/chat/completions").map((r) => String(r.headers.authorization));
    expect(chatKeys().sort()).toEqual([`Bearer ${KEY}`, `Bearer ${KEY2}`].sort());

    // A stored credential keeps its key when only its weight changes.
    await card.getByRole("button", { name: "Edit" }).click();
    const again = page.getByRole("dialog", { name: "Edit Groq" });
    await visible(again.getByText("Stored (gsk…6789). Leave empty to keep it."));
    await again.getByLabel("Credential 1 weight").fill("3");
    await again.getByRole("button", { name: "Save" }).click();
    await hasText(creds, /gsk…6789 · weight 3/);
    const before = chatKeys().length;
    await card.getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => chatKeys().slice(before).sort()).toEqual([`Bearer ${KEY}`, `Bearer ${KEY2}`].sort());
    await hasText(result, /Connected/);
  });
});
