/**
 * The getting-started card in a real browser: a person signs up and finds it
 * on their organization's home page with nothing done; creates a project (from
 * the card) and a key through the dashboard, and back on the home page both are
 * ticked; a gateway call ticks the first request; the card's snippet points at
 * this server; hiding it lasts. An organization whose steps are all done says
 * "You're all set" once, then never again.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { grantCredits } from "../helpers/fixtures.js";
import {
  count,
  type E2E,
  exactText,
  HAS_CHROMIUM,
  hasText,
  newPage,
  SKIP_REASON,
  screenshot,
  startE2E,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

describe.skipIf(!HAS_CHROMIUM)("the getting-started checklist", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let slug = "";
  let apiKey = "";
  const email = uniqueEmail("onboarding");
  const url = (p: string) => `${e.origin}${p}`;
  const card = () => page.getByTestId("onboarding");
  const stepDone = (id: string) => card().getByTestId(`onboarding-step-${id}`).getAttribute("data-done");

  beforeAll(async () => {
    e = await startE2E();
    page = await newPage(e);
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("a new account sees the checklist with nothing done", async () => {
    await page.goto(url("/sign-up"));
    await page.getByLabel("Name").fill("Nora Newcomer");
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign up" }).click();
    await visible(page.getByTestId("projects-empty"));
    slug = new URL(page.url()).pathname.slice(1);
    await visible(card());
    await exactText(page.getByTestId("onboarding-progress"), "0 of 6");
    for (const id of ["project", "key", "first_request", "teammate", "policy", "credits"])
      expect(await stepDone(id), id).toBe("false");
    // No project yet: the key steps say what is missing instead of offering a button.
    await hasText(card().getByTestId("onboarding-step-key"), "add you to a project");
  });

  it("a project and a key made in the dashboard are ticked back on the home page", async () => {
    await card().getByRole("button", { name: "Create a project" }).click();
    const dialog = page.getByRole("dialog", { name: "New project" });
    await dialog.getByLabel("Name").fill("Chatbot");
    await dialog.getByLabel("Default model").fill("mock/echo");
    await dialog.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(url(`/${slug}/projects/chatbot/keys`));

    await page.getByRole("button", { name: "Create your first key" }).click();
    const create = page.getByRole("dialog", { name: "Create API key" });
    await create.getByLabel("Name").fill("backend");
    await create.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByTestId("new-key-value");
    await hasText(shown, "tg_live_");
    apiKey = (await shown.textContent())!.trim();
    await page.getByRole("button", { name: "I have stored the key" }).click();

    // Back through the sidebar (no reload): the card reads the steps again.
    await page.getByRole("navigation").getByRole("link", { name: "Projects" }).click();
    await page.waitForURL(url(`/${slug}`));
    await exactText(page.getByTestId("onboarding-progress"), "2 of 6");
    await expect.poll(() => stepDone("project")).toBe("true");
    expect(await stepDone("key")).toBe("true");
    expect(await stepDone("first_request")).toBe("false");
    await visible(card().getByTestId("onboarding-step-key").getByText("Done"));
    // Each open step has its way there.
    await expect
      .poll(() => card().getByRole("link", { name: "Invite someone" }).getAttribute("href"))
      .toBe(`/${slug}/settings/team`);
    expect(await card().getByRole("link", { name: "Set the policy" }).getAttribute("href")).toBe(`/${slug}/security`);
    expect(await card().getByRole("link", { name: "Add credits" }).getAttribute("href")).toBe(
      `/${slug}/settings/billing`,
    );
    await screenshot(page, "onboarding");
  });

  it("shows the first request's snippet for this server, and ticks it after a call", async () => {
    await card().getByRole("button", { name: "Show the request snippet" }).click();
    const snippet = page.getByTestId("onboarding-snippet");
    await hasText(snippet.getByTestId("snippet").first(), `${e.origin}/v1/chat/completions`);
    await hasText(snippet.getByTestId("snippet").first(), "mock/echo");

    const res = await fetch(url("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "first!" }] }),
    });
    expect(res.status).toBe(200);
    await e.t.app.flushLogs();
    await page.reload();
    await exactText(page.getByTestId("onboarding-progress"), "3 of 6");
    expect(await stepDone("first_request")).toBe("true");
  });

  it("hiding the card lasts", async () => {
    await card().getByRole("button", { name: "Hide the getting-started checklist" }).click();
    await count(card(), 0);
    await page.reload();
    await visible(page.getByTestId("project-chatbot"));
    await count(card(), 0);
  });

  it("an organization with every step done says it is all set once, then hides the card", async () => {
    const api = await e.t.signIn(email, PASSWORD);
    const origin = { origin: e.origin };
    const org = await api.post("/api/v1/orgs", { name: "Finished Co" }, origin);
    expect(org.status).toBe(201);
    const s = org.body.slug as string;
    expect((await api.post(`/api/v1/orgs/${s}/projects`, { name: "Main app", slug: "main-app" }, origin)).status).toBe(
      201,
    );
    const key = await api.post(`/api/v1/orgs/${s}/projects/main-app/keys`, { name: "k", environment: "live" }, origin);
    expect(key.status).toBe(201);
    const res = await fetch(url("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${key.body.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    await e.t.app.flushLogs();
    const inv = await api.post(
      `/api/v1/orgs/${s}/invitations`,
      { email: uniqueEmail("colleague"), role: "member" },
      origin,
    );
    expect(inv.status).toBe(201);
    expect((await api.put(`/api/v1/orgs/${s}/security-policy`, { pii: { email: "mask" } }, origin)).status).toBe(200);
    await grantCredits(e.t, s, "10");

    await page.goto(url(`/${s}`));
    await hasText(page.getByTestId("onboarding-all-set"), "You're all set");
    await count(card(), 0);
    await page.reload();
    await visible(page.getByTestId("project-main-app"));
    await count(page.getByTestId("onboarding-all-set"), 0);
    await count(card(), 0);
  });
});
