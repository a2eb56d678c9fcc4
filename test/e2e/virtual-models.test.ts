/**
 * The Routing page in a real browser: an owner finds it next to Providers,
 * reads the empty state, creates a weighted virtual model on the mock models
 * (90/10, a max tokens override on the first target) — the server's refusal
 * of a target no provider serves shows in the form — sees it listed with its
 * weights, override and the line to put in a request; an app sends the name
 * through the gateway; the owner edits it to fallback and the next request
 * is answered by the first target with its override applied. A member sees
 * the same list read-only: no create, edit or delete.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD } from "../helpers/app.js";
import { grantCredits } from "../helpers/fixtures.js";
import { inviteToken } from "../helpers/smtp.js";
import {
  count,
  type E2E,
  HAS_CHROMIUM,
  hasText,
  lacksText,
  newPage,
  SKIP_REASON,
  startE2E,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const stamp = Date.now().toString(36);
const OWNER = { name: "Rita Router", email: `rita-${stamp}@example.com` };
const MEMBER = { name: "Mo Member", email: `mo-${stamp}@example.com` };
const NAME = "ab-test";

describe.skipIf(!HAS_CHROMIUM)("virtual models on the Routing page", { timeout: 120_000 }, () => {
  let e: E2E;
  let owner: Page;
  let member: Page;
  let slug = "";
  let key = "";

  /** Cookie-authenticated API calls carry the dashboard's Origin (the CSRF guard). */
  const post = (c: Client, path: string, body?: unknown) => c.post(path, body ?? {}, { origin: e.origin });
  const chat = (model: string, content: string) =>
    fetch(`${e.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  async function signIn(page: Page, email: string) {
    await page.goto(`${e.origin}/sign-in`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
  }

  beforeAll(async () => {
    e = await startE2E();
    const ownerApi = await e.t.signUp({ ...OWNER, password: PASSWORD });
    const org = await post(ownerApi, "/api/v1/orgs", { name: "Routing Co" });
    expect(org.status, JSON.stringify(org.body)).toBe(201);
    slug = org.body.slug;
    const memberApi = await e.t.signUp({ ...MEMBER, password: PASSWORD });
    const inv = await post(ownerApi, `/api/v1/orgs/${slug}/invitations`, { email: MEMBER.email, role: "member" });
    expect(inv.status, JSON.stringify(inv.body)).toBe(201);
    const token = inviteToken(await e.smtp.waitFor(MEMBER.email));
    expect((await post(memberApi, `/api/v1/invitations/${token}/accept`)).status).toBe(200);
    await grantCredits(e.t, slug, "5");
    const project = await post(ownerApi, `/api/v1/orgs/${slug}/projects`, { name: "Main app", slug: "main-app" });
    expect(project.status, JSON.stringify(project.body)).toBe(201);
    const k = await post(ownerApi, `/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "k", environment: "live" });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    key = k.body.key;
    owner = await newPage(e);
    member = await newPage(e);
  }, 120_000);

  // Closing Chromium on a machine busy with the other suites can take longer than the default minute.
  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("an owner creates a weighted virtual model, the gateway answers to its name, and it becomes a fallback", async () => {
    await signIn(owner, OWNER.email);
    await owner.goto(`${e.origin}/${slug}/settings/general`);
    const nav = owner.getByRole("navigation");
    await visible(nav.getByRole("link", { name: "Providers" }));
    await nav.getByRole("link", { name: "Routing" }).click();
    await visible(owner.getByRole("heading", { name: "Routing", exact: true }));
    await hasText(owner.getByTestId("virtual-models-empty"), /a name of your own/);
    await owner.getByTestId("virtual-models-empty").getByRole("button", { name: "Create virtual model" }).click();

    const dialog = owner.getByRole("dialog", { name: "Create virtual model" });
    await dialog.getByLabel("Name").fill(NAME);
    await dialog.getByRole("combobox", { name: "Strategy" }).click();
    await owner.getByRole("option", { name: /^Weighted/ }).click();
    await visible(dialog.getByText(/Splits traffic by weight \(e\.g\. 90\/10/));
    // The first target from the suggestions (the mock models are always there).
    await dialog.getByLabel("Target 1 model").fill("mock/ec");
    await owner.getByRole("option", { name: "mock/echo", exact: true }).click();
    await dialog.getByLabel("Target 1 weight").fill("90");
    await dialog.getByLabel("Target 1 max tokens").fill("2");
    await dialog.getByRole("button", { name: "Add target" }).click();
    await dialog.getByLabel("Target 2 model").fill("nowhere/model");
    await dialog.getByLabel("Target 2 weight").fill("10");
    await dialog.getByLabel("Description").fill("A/B: echo against lorem");
    await dialog.getByRole("button", { name: "Create" }).click();
    // The server refuses a target no provider serves; the form says so and stays open.
    await visible(dialog.getByText('No provider serves "nowhere/model".', { exact: false }));
    await dialog.getByLabel("Target 2 model").fill("mock/lorem");
    await dialog.getByRole("button", { name: "Create" }).click();
    await count(owner.getByRole("dialog", { name: "Create virtual model" }), 0);

    const card = owner.getByTestId(`virtual-model-${NAME}`);
    await hasText(card.getByTestId("virtual-model-strategy"), /^weighted$/i);
    await hasText(card, "A/B: echo against lorem");
    const targets = card.getByRole("table", { name: `Targets of ${NAME}` });
    await hasText(targets.getByRole("row").filter({ hasText: "mock/echo" }), /90 \(90 %\)\tmax tokens 2/);
    await hasText(targets.getByRole("row").filter({ hasText: "mock/lorem" }), /10 \(10 %\)\t—/);
    await hasText(card.getByTestId("virtual-model-example"), `model: "${NAME}"`);
    await visible(card.getByRole("button", { name: `Copy model: "${NAME}"` }));
    await count(owner.getByTestId("virtual-models-empty"), 0);

    // Apps send the name: the gateway routes it, and /v1/models lists it.
    const weighted = await chat(NAME, "one two three four");
    expect(weighted.status, JSON.stringify(weighted.body)).toBe(200);
    expect(weighted.body.choices[0].message.content).toBeTruthy();
    const models = (await (
      await fetch(`${e.origin}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { data: Array<{ id: string; owned_by: string }> };
    expect(models.data.find((m) => m.id === NAME)?.owned_by).toBe("virtual");

    // Edited to fallback: weights are no longer asked for, the override is kept.
    await card.getByRole("button", { name: "Edit" }).click();
    const edit = owner.getByRole("dialog", { name: `Edit ${NAME}` });
    await edit.getByRole("combobox", { name: "Strategy" }).click();
    await owner.getByRole("option", { name: /^Fallback/ }).click();
    await visible(edit.getByText("Tries the targets in order"));
    await count(edit.getByLabel("Target 1 weight"), 0);
    await edit.getByRole("button", { name: "Save" }).click();
    await count(owner.getByRole("dialog", { name: `Edit ${NAME}` }), 0);
    await hasText(card.getByTestId("virtual-model-strategy"), /^fallback$/i);
    await lacksText(targets, "90 (90 %)");
    await hasText(targets.getByRole("row").filter({ hasText: "mock/echo" }), /max tokens 2/);

    // The first target answers now, with its max tokens override (the echo cut after two words).
    const fallback = await chat(NAME, "one two three four");
    expect(fallback.status, JSON.stringify(fallback.body)).toBe(200);
    expect(fallback.body.choices[0].message.content).toBe("one two ");
    expect(fallback.body.choices[0].finish_reason).toBe("length");
  });

  it("a member sees the virtual models read-only", async () => {
    await signIn(member, MEMBER.email);
    await member.goto(`${e.origin}/${slug}/settings/general`);
    const nav = member.getByRole("navigation");
    await count(nav.getByRole("link", { name: "Providers" }), 0);
    await nav.getByRole("link", { name: "Routing" }).click();
    const card = member.getByTestId(`virtual-model-${NAME}`);
    await hasText(card.getByTestId("virtual-model-strategy"), /^fallback$/i);
    await hasText(card.getByRole("table", { name: `Targets of ${NAME}` }), "mock/lorem");
    await hasText(card.getByTestId("virtual-model-example"), `model: "${NAME}"`);
    await visible(member.getByText("Owners and admins of the organization change them.", { exact: false }));
    await count(member.getByRole("button", { name: "Create virtual model" }), 0);
    await count(member.getByRole("button", { name: "Edit" }), 0);
    await count(member.getByRole("button", { name: "Delete" }), 0);
  });
});
