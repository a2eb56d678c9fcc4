/**
 * The providers page in a real browser with a Google Vertex AI project (the
 * token endpoint and Vertex fakes on loopback): an owner picks the Vertex AI
 * format, enters the project and location, pastes a service account key and,
 * under Advanced, the base and token URLs; the card shows the project and the
 * key's client_email (never the key), the connection test gets a token and
 * reaches the model, and editing keeps the stored key when none is pasted.
 */
import { exportPKCS8, generateKeyPair } from "jose";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGoogleTokenFake, startVertexFake, type TokenFake, type VertexFake } from "../fakes/vertex-fake.js";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import { type E2E, HAS_CHROMIUM, hasText, lacksText, newPage, SKIP_REASON, startE2E, value } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const SA = "dashboard@vx-dash-1.iam.gserviceaccount.com";

describe.skipIf(!HAS_CHROMIUM)("Google Vertex AI on the providers page", { timeout: 120_000 }, () => {
  let e: E2E;
  let tokens: TokenFake;
  let vertex: VertexFake;
  let page: Page;
  let slug = "";
  let keyJson = "";
  const email = uniqueEmail("vertex-owner");

  beforeAll(async () => {
    tokens = await startGoogleTokenFake();
    vertex = await startVertexFake({ project: "vx-dash-1", location: "us-east5", tokens });
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    tokens.addAccount(SA, publicKey);
    keyJson = JSON.stringify(
      {
        type: "service_account",
        project_id: "vx-dash-1",
        private_key_id: "k1",
        private_key: await exportPKCS8(privateKey),
        client_email: SA,
        token_uri: "https://oauth2.googleapis.com/token",
      },
      null,
      2,
    );
    e = await startE2E({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    const owner = await e.t.signUp({ email, password: PASSWORD, name: "Grace Google" });
    slug = await personalSlug(owner);
    page = await newPage(e);
  }, 120_000);

  afterAll(async () => {
    await e?.close();
    await vertex?.close();
    await tokens?.close();
  }, 120_000);

  it("adds a Vertex AI provider with a service account key, tests it, and keeps the key on edit", async () => {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    await page.goto(`${e.origin}/${slug}/settings/general`);
    await page.getByRole("link", { name: "Providers" }).click();
    await page.getByRole("button", { name: "Add your first provider" }).click();

    const dialog = page.getByRole("dialog", { name: "Add provider" });
    await dialog.getByLabel("Name").fill("Vertex prod");
    await dialog.getByRole("combobox", { name: "API format" }).click();
    await page.getByRole("option", { name: "Google Vertex AI" }).click();
    await dialog.getByLabel("Project").fill("vx-dash-1");
    await dialog.getByLabel("Location").fill("us-east5");
    await dialog.getByLabel("Service account key (JSON)").fill(keyJson);
    await dialog.getByRole("button", { name: "Advanced: base URL, token URL" }).click();
    await dialog.getByLabel("Base URL").fill(vertex.url);
    await dialog.getByLabel("Token URL").fill(tokens.tokenUrl);
    await dialog.getByLabel("Model id").fill("gemini-2.5-flash");
    await dialog.getByLabel("Input price", { exact: true }).fill("0.3");
    await dialog.getByRole("button", { name: "Add provider" }).click();

    const card = page.getByTestId("provider-vertex-prod");
    await hasText(card, "vertex-prod/gemini-2.5-flash");
    await hasText(card, "project vx-dash-1 in us-east5");
    await hasText(card, SA);
    await lacksText(card, "PRIVATE KEY");

    await card.getByRole("button", { name: "Test connection" }).click();
    await hasText(card.getByTestId("provider-test-result"), /Connected: gemini-2.5-flash answered/);
    expect(vertex.last().path).toBe(
      "/v1/projects/vx-dash-1/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent",
    );
    expect(tokens.issued).toHaveLength(1);

    // Editing shows the settings back and keeps the stored key when none is pasted.
    await card.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit Vertex prod" });
    await value(edit.getByLabel("Project"), "vx-dash-1");
    await value(edit.getByLabel("Token URL"), tokens.tokenUrl);
    await value(edit.getByLabel("Service account key (JSON)"), "");
    await edit.getByLabel("Name").fill("Vertex primary");
    await edit.getByRole("button", { name: "Save" }).click();
    await hasText(card, "Vertex primary");
    await hasText(card, SA);
    await card.getByRole("button", { name: "Test connection" }).click();
    await hasText(card.getByTestId("provider-test-result"), /Connected: gemini-2.5-flash answered/);
  });
});
