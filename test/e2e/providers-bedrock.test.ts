/**
 * The providers page in a real browser with an Amazon Bedrock account (the
 * Bedrock fake on loopback, checking every SigV4 signature): an owner picks
 * the Amazon Bedrock format, enters the region, the access key ID and the
 * secret access key and, under Advanced, the base URL; the card shows the
 * region and the access key ID (never the secret), the connection test is
 * signed and reaches the model, editing keeps the stored secret when none is
 * typed, and a new access key ID without its secret is caught in the form.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BedrockFake, startBedrockFake } from "../fakes/bedrock-fake.js";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { CLAUDE, KEY_ID, REGION, SECRET, TEMP_KEY_ID } from "../helpers/bedrock.js";
import { personalSlug } from "../helpers/fixtures.js";
import { type E2E, HAS_CHROMIUM, hasText, lacksText, newPage, SKIP_REASON, startE2E, value } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

describe.skipIf(!HAS_CHROMIUM)("Amazon Bedrock on the providers page", { timeout: 120_000 }, () => {
  let e: E2E;
  let fake: BedrockFake;
  let page: Page;
  let slug = "";
  const email = uniqueEmail("bedrock-owner");

  beforeAll(async () => {
    fake = await startBedrockFake({ region: REGION, credentials: { [KEY_ID]: { secretAccessKey: SECRET } } });
    e = await startE2E({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    const owner = await e.t.signUp({ email, password: PASSWORD, name: "Andy Amazon" });
    slug = await personalSlug(owner);
    page = await newPage(e);
  }, 120_000);

  afterAll(async () => {
    await e?.close();
    await fake?.close();
  }, 120_000);

  it("adds a Bedrock provider with AWS credentials, tests it, and keeps the secret on edit", async () => {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    await page.goto(`${e.origin}/${slug}/settings/general`);
    await page.getByRole("link", { name: "Providers" }).click();
    await page.getByRole("button", { name: "Add your first provider" }).click();

    const dialog = page.getByRole("dialog", { name: "Add provider" });
    await dialog.getByLabel("Name").fill("Bedrock prod");
    await dialog.getByRole("combobox", { name: "API format" }).click();
    await page.getByRole("option", { name: "Amazon Bedrock" }).click();
    await dialog.getByLabel("Region").fill(REGION);
    await dialog.getByLabel("Access key ID").fill(KEY_ID);
    await dialog.getByLabel("Secret access key").fill(SECRET);
    await expect(dialog.getByLabel("Session token").count()).resolves.toBe(1);
    await dialog.getByRole("button", { name: "Advanced: base URL" }).click();
    await dialog.getByLabel("Base URL").fill(fake.url);
    await dialog.getByLabel("Model id").fill(CLAUDE);
    await dialog.getByLabel("Input price", { exact: true }).fill("3");
    await dialog.getByRole("button", { name: "Add provider" }).click();

    const card = page.getByTestId("provider-bedrock-prod");
    await hasText(card, `bedrock-prod/${CLAUDE}`);
    await hasText(card, `region ${REGION}`);
    await hasText(card, KEY_ID);
    await lacksText(card, SECRET);

    await card.getByRole("button", { name: "Test connection" }).click();
    await hasText(card.getByTestId("provider-test-result"), /Connected: anthropic\.claude-3-5-sonnet.* answered/);
    expect(fake.last().path).toBe("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    expect(fake.last().headers.authorization).toContain(`Credential=${KEY_ID}/`);

    // Editing shows the settings back and keeps the stored secret when none is typed.
    await card.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit Bedrock prod" });
    await value(edit.getByLabel("Region"), REGION);
    await value(edit.getByLabel("Access key ID"), KEY_ID);
    await value(edit.getByLabel("Secret access key"), "");
    await value(edit.getByLabel("Base URL"), fake.url);
    // A new access key ID needs its secret.
    await edit.getByLabel("Access key ID").fill(TEMP_KEY_ID);
    await edit.getByRole("button", { name: "Save" }).click();
    await hasText(edit, "Enter the secret access key of this access key ID.");
    await edit.getByLabel("Access key ID").fill(KEY_ID);
    await edit.getByLabel("Name").fill("Bedrock primary");
    await edit.getByRole("button", { name: "Save" }).click();
    await hasText(card, "Bedrock primary");
    await hasText(card, KEY_ID);
    await card.getByRole("button", { name: "Test connection" }).click();
    await hasText(card.getByTestId("provider-test-result"), /Connected: anthropic\.claude-3-5-sonnet.* answered/);
  });
});
