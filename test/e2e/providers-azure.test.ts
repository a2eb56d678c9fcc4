/**
 * The providers page in a real browser with an Azure OpenAI resource (the
 * Azure fake on loopback): an owner picks the Azure OpenAI format, enters the
 * endpoint, key, API version and each model's deployment, sees the mapping on
 * the provider's card (never the key), tests the connection, then points a
 * model at a deployment the resource does not have and sees the test fail
 * with Azure's reason.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AzureFake, startAzureFake } from "../fakes/azure-fake.js";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import {
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

const KEY = "az-dashboard-key-0123456789";

describe.skipIf(!HAS_CHROMIUM)("Azure OpenAI on the providers page", { timeout: 120_000 }, () => {
  let e: E2E;
  let fake: AzureFake;
  let page: Page;
  let slug = "";
  const email = uniqueEmail("azure-owner");

  beforeAll(async () => {
    fake = await startAzureFake({
      apiKey: KEY,
      deployments: { "chat-prod": "gpt-4o-2024-08-06", emb: "text-embedding-3-small" },
    });
    e = await startE2E({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    const owner = await e.t.signUp({ email, password: PASSWORD, name: "Ada Azure" });
    slug = await personalSlug(owner);
    page = await newPage(e, { height: 800 });
  }, 120_000);

  // Closing Chromium on a machine busy with the other suites can take longer than the default minute.
  afterAll(async () => {
    await e?.close();
    await fake?.close();
  }, 120_000);

  it("adds an Azure provider with its deployments, tests it, and shows a missing deployment's error", async () => {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    await page.goto(`${e.origin}/${slug}/settings/general`);
    await page.getByRole("link", { name: "Providers" }).click();
    await page.getByRole("button", { name: "Add your first provider" }).click();

    const dialog = page.getByRole("dialog", { name: "Add provider" });
    await dialog.getByLabel("Name").fill("Azure prod");
    await dialog.getByRole("combobox", { name: "API format" }).click();
    await page.getByRole("option", { name: "Azure OpenAI" }).click();
    await dialog.getByLabel("Endpoint").fill(fake.url);
    await dialog.getByLabel("API key").fill(KEY);
    await dialog.getByLabel("API version").fill("2025-04-01-preview");
    await dialog.getByLabel("Model id").fill("gpt-4o");
    await dialog.getByLabel("Deployment").fill("chat-prod");
    await dialog.getByLabel("Input price", { exact: true }).fill("2.5");
    await dialog.getByRole("button", { name: "Add model" }).click();
    await dialog.getByLabel("Model id").nth(1).fill("text-embedding-3-small");
    await dialog.getByLabel("Deployment").nth(1).fill("emb");
    await dialog.getByRole("button", { name: "Add provider" }).click();

    const card = page.getByTestId("provider-azure-prod");
    await hasText(card, "azure-prod/gpt-4o");
    await hasText(card, "chat-prod");
    await hasText(card, "API version 2025-04-01-preview");
    await lacksText(card, KEY);

    await card.getByRole("button", { name: "Test connection" }).click();
    await hasText(card.getByTestId("provider-test-result"), /Connected: gpt-4o answered/);
    expect(fake.last().path).toBe("/openai/deployments/chat-prod/chat/completions?api-version=2025-04-01-preview");
    expect(fake.last().headers["api-key"]).toBe(KEY);

    // The dialog shows the mapping back; a deployment the resource lacks fails the test with Azure's reason.
    await card.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit Azure prod" });
    await value(edit.getByLabel("Deployment").first(), "chat-prod");
    await value(edit.getByLabel("API version"), "2025-04-01-preview");
    await edit.getByLabel("Deployment").first().fill("chat-gone");
    await edit.getByRole("button", { name: "Save" }).click();
    await hasText(card, "chat-gone");
    await card.getByRole("button", { name: "Test connection" }).click();
    await visible(card.getByTestId("provider-test-result"));
    await hasText(
      card.getByTestId("provider-test-result"),
      /Failed \(http 404\).*deployment for this resource does not exist/,
    );
  });
});
