/**
 * The dashboard in a real browser (Debian Chromium via playwright-core) against
 * a real Tollgate server: the dashboard flows, clicked the way the
 * organization guide describes them. The steps share one world and run in
 * order: an owner signs up, creates a team organization, invites a member who
 * accepts in a second browser context, creates a project and a key, calls the
 * gateway with it, finds the request in Logs and the charts, hands the
 * organization over, and the new owner deletes it.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantCredits } from "../../src/modules/billing/billing.service.js";
import { inviteToken } from "../helpers/smtp.js";
import {
  count,
  disabled,
  type E2E,
  exactText,
  hasText,
  HAS_CHROMIUM,
  inViewport,
  lacksText,
  screenshot,
  SKIP_REASON,
  startE2E,
  value,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const PASSWORD = "correct horse battery staple";
const stamp = Date.now().toString(36);
const OWNER = { name: "Olivia Owner", email: `olivia-${stamp}@example.com` };
const MEMBER = { name: "Max Member", email: `max-${stamp}@example.com` };
/** Sign-up names the personal organization after the user. */
const PERSONAL_ORG = `${OWNER.name}'s organization`;

describe.skipIf(!HAS_CHROMIUM)("dashboard in a browser", { timeout: 120_000 }, () => {
  let e: E2E;
  let ownerCtx: BrowserContext;
  let memberCtx: BrowserContext;
  let owner: Page;
  let member: Page;
  let personalSlug = "";
  let teamSlug = "";
  let apiKey = "";

  const url = (p: string) => `${e.origin}${p}`;
  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });

  async function signUp(page: Page, who: { name: string; email: string }, emailPrefilled = false) {
    await page.getByLabel("Name").fill(who.name);
    if (emailPrefilled) expect(await page.getByLabel("Email").inputValue()).toBe(who.email);
    else await page.getByLabel("Email").fill(who.email);
    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign up" }).click();
  }

  async function switchTo(page: Page, orgName: string) {
    await page.getByTestId("org-switcher").click();
    await page.getByRole("menuitem", { name: new RegExp(`^${orgName}`) }).click();
    await hasText(page.getByTestId("org-switcher"), orgName);
  }

  beforeAll(async () => {
    e = await startE2E();
    ownerCtx = await e.browser.newContext({ viewport: { width: 1280, height: 800 } });
    memberCtx = await e.browser.newContext({ viewport: { width: 1280, height: 800 } });
    ownerCtx.setDefaultTimeout(20_000);
    memberCtx.setDefaultTimeout(20_000);
    owner = await ownerCtx.newPage();
    member = await memberCtx.newPage();
  }, 120_000);

  // Closing Chromium on a machine busy with the other suites can take longer than the default minute.
  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("serves the dashboard: HTML for browser navigations, JSON 404 for unknown API paths, long cache for assets", async () => {
    const page = await fetch(url("/some/deep/link"), { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    const js = await fetch(url(asset!));
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect(js.headers.get("cache-control")).toContain("immutable");
    const api = await fetch(url("/api/v1/nothing-here"), { headers: { accept: "text/html" } });
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe("ROUTE_NOT_FOUND");
    const gw = await fetch(url("/v1/nothing"), { headers: { accept: "text/html" } });
    expect(gw.status).toBe(404);
    const missing = await fetch(url("/assets/missing-123.js"));
    expect(missing.status).toBe(404);
    const traversal = await fetch(url("/assets/..%2f..%2fpackage.json"));
    expect(traversal.status).toBe(404);
  });

  it("signs up; sign-up creates a personal organization", async () => {
    await owner.goto(url("/"));
    await owner.waitForURL(/\/sign-in$/);
    await screenshot(owner, "sign-in");
    await owner.getByRole("link", { name: "Create an account" }).click();
    // Inline validation before anything is sent.
    await owner.getByRole("button", { name: "Sign up" }).click();
    await visible(owner.getByText("Enter your name."));
    await signUp(owner, OWNER);
    await visible(owner.getByTestId("projects-empty"));
    personalSlug = new URL(owner.url()).pathname.slice(1);
    expect(personalSlug).not.toBe("");
    await hasText(owner.getByTestId("org-switcher"), PERSONAL_ORG);
    await visible(owner.getByText("Create your first project"));
  });

  it("shows the API's error codes inline (email already registered)", async () => {
    const other = await e.browser.newContext();
    const page = await other.newPage();
    await page.goto(url("/sign-up"));
    await signUp(page, { name: "Copycat", email: OWNER.email });
    await visible(page.getByText(/already exists|already registered|use another email/i));
    await other.close();
  });

  it("creates a second organization from the profile menu and switches between them; the choice is remembered", async () => {
    await owner.getByTestId("profile-menu").click();
    await owner.getByRole("menuitem", { name: "Create Organization" }).click();
    const dialog = owner.getByRole("dialog", { name: "Create Organization" });
    await dialog.getByLabel("Name").fill("Acme Corp");
    await dialog.getByLabel("Description").fill("Our AI products");
    await dialog.getByRole("button", { name: "Create" }).click();
    await hasText(owner.getByTestId("org-switcher"), "Acme Corp");
    teamSlug = new URL(owner.url()).pathname.slice(1);
    expect(teamSlug).toMatch(/^acme-corp/);

    // A project in Acme only: switching must show each organization's own data.
    await owner.getByRole("button", { name: "New project" }).click();
    const create = owner.getByRole("dialog", { name: "New project" });
    await create.getByLabel("Name").fill("Production API");
    await create.getByLabel("Default model").fill("mock/echo");
    await create.getByRole("button", { name: "Create project" }).click();
    await owner.waitForURL(new RegExp(`/${teamSlug}/projects/production-api/keys$`));
    await visible(owner.getByTestId("keys-empty"));
    await hasText(owner.getByTestId("snippet").first(), `${e.origin}/v1/chat/completions`);

    await switchTo(owner, PERSONAL_ORG);
    await owner.waitForURL(url(`/${personalSlug}`));
    await visible(owner.getByTestId("projects-empty"));
    await switchTo(owner, "Acme Corp");
    await owner.waitForURL(url(`/${teamSlug}`));
    await visible(owner.getByTestId("project-production-api"));
    await screenshot(owner, "projects");

    // Remembered on the server: a fresh visit to / lands in Acme.
    await expect
      .poll(async () => (await (await ownerCtx.request.get(url("/api/v1/me"))).json()).activeOrganization)
      .toBe(teamSlug);
    await owner.goto(url("/"));
    await owner.waitForURL(url(`/${teamSlug}`));
  });

  it("invites a member by email; they accept in their own browser and cannot see Billing", async () => {
    await owner.getByRole("link", { name: "Team" }).click();
    await owner.getByRole("button", { name: "Invite Member" }).click();
    const dialog = owner.getByRole("dialog", { name: "Invite Member" });
    await dialog.getByLabel("Email").fill("not-an-email");
    await dialog.getByRole("button", { name: "Send invitation" }).click();
    await visible(dialog.getByText("Enter a valid email address."));
    await dialog.getByLabel("Email").fill(MEMBER.email);
    await dialog.getByRole("button", { name: "Send invitation" }).click();
    await visible(owner.getByTestId(`invitation-${MEMBER.email}`));
    await screenshot(owner, "team");

    const mail = await e.smtp.waitFor(MEMBER.email, 10_000);
    const token = inviteToken(mail);
    const link = new RegExp(`https?://[^\\s]+/invite/${token}`).exec(mail.text ?? "")?.[0];
    expect(link?.startsWith(e.origin)).toBe(true);

    await member.goto(link!);
    await exactText(member.getByTestId("invite-org"), "Acme Corp");
    await visible(member.getByText(`${OWNER.name} invited`));
    await screenshot(member, "invitation");
    await member.getByRole("link", { name: "Sign up" }).click();
    await signUp(member, MEMBER, true);
    await member.waitForURL(new RegExp(`/invite/${token}$`));
    await member.getByRole("button", { name: "Accept" }).click();
    await member.waitForURL(url(`/${teamSlug}`));
    await hasText(member.getByTestId("org-switcher"), "Acme Corp");

    // Role-aware: no Billing, Providers, Audit log, Danger Zone in the sidebar; direct URLs say "No access".
    const nav = member.getByRole("navigation");
    await visible(nav.getByRole("link", { name: "Team" }));
    for (const hidden of ["Billing", "Providers", "Audit log", "Danger Zone"])
      await count(nav.getByRole("link", { name: hidden }), 0);
    await member.goto(url(`/${teamSlug}/settings/billing`));
    await hasText(member.getByTestId("no-access"), "Billing is available to owners and admins");
    await hasText(member.getByTestId("no-access"), "Your role here is member");
    await screenshot(member, "no-access");
    await member.goto(url(`/${teamSlug}/settings/team`));
    await visible(member.getByTestId(`member-${MEMBER.email}`));
    await count(member.getByRole("button", { name: "Invite Member" }), 0);
    // Not assigned to any project yet: the member's empty state says whom to ask.
    await member.goto(url(`/${teamSlug}`));
    await visible(member.getByText(/not assigned to any project/));

    await owner.reload();
    await visible(owner.getByTestId(`member-${MEMBER.email}`));
    await count(owner.getByTestId(`invitation-${MEMBER.email}`), 0);
  });

  it("creates a key (shown once), calls the gateway with it, and sees the requests in Logs and the charts", async () => {
    await owner.goto(url(`/${teamSlug}/projects/production-api/settings`));
    // Store bodies so the log detail shows the prompt and the response.
    await owner.getByLabel("Store prompt and response bodies in request logs").check({ force: true });
    await owner.getByRole("button", { name: "Save settings" }).click();
    await visible(owner.getByText("Project settings saved."));
    // An invalid cap is refused inline with the API's message.
    await owner.getByLabel("Monthly spend cap (USD)").fill("ten dollars");
    await owner.getByRole("button", { name: "Save settings" }).click();
    await visible(owner.getByText(/USD|amount|decimal/i).last());
    await owner.reload();
    await screenshot(owner, "project-settings");

    await owner.getByRole("tab", { name: "API Keys" }).click();
    await owner.getByRole("button", { name: "Create your first key" }).click();
    const dialog = owner.getByRole("dialog", { name: "Create API key" });
    await dialog.getByLabel("Name").fill("backend");
    await dialog.getByRole("button", { name: "Create key" }).click();
    const shown = owner.getByTestId("new-key-value");
    await hasText(shown, "tg_live_");
    apiKey = (await shown.textContent())!.trim();
    await visible(owner.getByRole("button", { name: "Copy", exact: true }));
    await hasText(owner.getByTestId("new-key").getByTestId("snippet").first(), apiKey);
    await screenshot(owner, "api-key-created");
    await owner.getByRole("button", { name: "I have stored the key" }).click();
    await count(owner.getByTestId("new-key"), 0);
    await hasText(owner.getByTestId("key-backend"), /active/i);
    // Shown once: the list has the hint only.
    await count(owner.getByText(apiKey), 0);

    // Live keys are billed: the operator grants the organization credits first (CLI `tollgate credits grant`).
    await grantCredits(e.t.db, { orgSlug: teamSlug, usd: "25", note: "Welcome credits" });
    const prompts = ["Hello from the browser test", "Second request", "Third request"];
    for (const [i, content] of prompts.entries()) {
      const res = await fetch(url("/v1/chat/completions"), {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: i === 2 ? "mock/lorem" : "mock/echo", messages: [{ role: "user", content }] }),
      });
      expect(res.status).toBe(200);
    }
    await e.t.app.flushLogs();

    await owner.getByRole("tab", { name: "Logs" }).click();
    await count(owner.getByTestId("log-row"), 3);
    await hasText(owner.getByTestId("log-row").first(), "mock/lorem");
    await screenshot(owner, "logs");
    await owner.getByLabel("Model").fill("mock/echo");
    await count(owner.getByTestId("log-row"), 2);
    await owner.getByTestId("log-row").last().click();
    await hasText(owner.getByTestId("log-detail"), "mock");
    await hasText(owner.getByTestId("log-request-body"), "Hello from the browser test");
    await hasText(owner.getByTestId("log-response-body"), "Hello from the browser test");
    await screenshot(owner, "log-detail");

    const [download] = await Promise.all([
      owner.waitForEvent("download"),
      (async () => {
        await owner.getByRole("link", { name: "All logs" }).click();
        await owner.getByRole("link", { name: "Export CSV" }).click();
      })(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);

    await owner.getByRole("tab", { name: "Overview" }).click();
    await exactText(owner.getByTestId("stat-requests"), "3");
    await visible(owner.getByTestId("usage-charts"));
    await visible(owner.getByTestId("usage-charts").locator(".recharts-surface").first());
    await hasText(owner.getByTestId("usage-charts"), "mock/echo");
    await screenshot(owner, "project-overview");
  });

  it("shows Billing to the owner: balance, usage charts, transactions, adding credits, alerts", async () => {
    await owner.goto(url(`/${teamSlug}/settings/billing`));
    await hasText(owner.getByTestId("billing-balance"), /^\$2[45]\./);
    await hasText(owner.getByRole("table", { name: "Transactions" }), "Welcome credits");
    // No Stripe on this server: the page says how credits are added instead.
    await hasText(owner.getByTestId("add-credits-offline"), `tollgate credits grant --org ${teamSlug}`);
    // Billing alerts: a low-balance threshold is saved and shown after a reload.
    await owner.getByLabel("Low balance (USD)").fill("5");
    await owner.getByRole("button", { name: "Save alerts" }).click();
    await visible(owner.getByText("Billing alerts saved."));
    await owner.reload();
    await value(owner.getByLabel("Low balance (USD)"), "5");
    await screenshot(owner, "billing");
  });

  it("edits the shared security policy; a blocked request becomes an incident the owner reviews", async () => {
    await owner.goto(url(`/${teamSlug}/security`));
    await owner.getByRole("button", { name: "Add rule" }).click();
    await owner.getByLabel("Rule name").fill("project-codename");
    await owner.getByLabel("Pattern").fill("bluebird");
    await owner.getByRole("button", { name: "Save policy" }).click();
    await visible(owner.getByText(/Security policy saved/));
    await owner.reload();
    await value(owner.getByLabel("Pattern"), "bluebird");
    await screenshot(owner, "security-policy");

    const res = await fetch(url("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "Tell me about Bluebird" }] }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    // Incidents are written in batches off the request path.
    await e.t.app.flushLogs();

    await owner.getByRole("tab", { name: "Incidents" }).click();
    await expect
      .poll(
        async () => {
          await owner.getByRole("tab", { name: "Shared policy" }).click();
          await owner.getByRole("tab", { name: "Incidents" }).click();
          return owner.getByTestId("incident-row").count();
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(1);
    await hasText(owner.getByTestId("incident-row"), "project-codename");
    await screenshot(owner, "incidents");
    await owner.getByRole("button", { name: "Review" }).click();
    await owner.getByRole("dialog", { name: "Review incident" }).getByLabel("Note").fill("Expected: test of the rule");
    await owner.getByRole("button", { name: "Mark reviewed" }).click();
    await visible(owner.getByTestId("incidents-empty"));

    // The request's log shows the policy's verdict.
    await owner.goto(url(`/${teamSlug}/projects/production-api/logs`));
    await owner.getByTestId("log-row").first().click();
    await hasText(owner.getByTestId("log-policy"), /Blocked on input: rule “project-codename”/);
  });

  it("works on a narrow screen: the sidebar folds behind a menu button", async () => {
    const narrow = await ownerCtx.newPage();
    await narrow.setViewportSize({ width: 390, height: 844 });
    await narrow.goto(url(`/${teamSlug}/projects/production-api`));
    // Three answered requests and the one the policy blocked.
    await exactText(narrow.getByTestId("stat-requests"), "4");
    const team = narrow.getByRole("navigation").getByRole("link", { name: "Team" });
    await inViewport(team, false);
    await narrow.getByRole("button", { name: "Toggle navigation" }).click();
    await inViewport(team, true);
    await screenshot(narrow, "narrow-navigation");
    await team.click();
    await visible(heading(narrow, "Team"));
    await narrow.close();
  });

  it("shows the other organization pages: General, Providers, Audit log", async () => {
    await owner.goto(url(`/${teamSlug}/settings/general`));
    await value(owner.getByLabel("Name"), "Acme Corp");
    await owner.getByLabel("Slug").fill("Bad Slug!");
    await owner.getByRole("button", { name: "Save" }).click();
    await visible(owner.getByText(/lowercase letters/));
    await owner.reload();

    await owner.getByRole("link", { name: "Providers" }).click();
    await visible(owner.getByTestId("providers-empty"));
    await owner.getByRole("button", { name: "Add your first provider" }).click();
    const dialog = owner.getByRole("dialog", { name: "Add provider" });
    await dialog.getByLabel("Name").fill("Team vLLM");
    await dialog.getByLabel("Base URL").fill("https://llm.example.com/v1");
    await dialog.getByLabel("API key").fill("sk-test-123456");
    await dialog.getByLabel("Model id").fill("llama-3-70b");
    await dialog.getByLabel("Input price", { exact: true }).fill("0.5");
    await dialog.getByLabel("Output price").fill("1.5");
    await dialog.getByRole("button", { name: "Add provider" }).click();
    await hasText(owner.getByTestId("provider-team-vllm"), "team-vllm/llama-3-70b");
    await lacksText(owner.getByTestId("provider-team-vllm"), "sk-test-123456");
    await screenshot(owner, "providers");

    await owner.getByRole("link", { name: "Audit log" }).click();
    await hasText(owner.getByRole("table", { name: "Audit log" }), "provider");
    await screenshot(owner, "audit-log");
  });

  it("the owner transfers ownership; the new owner deletes the organization by typing its slug", async () => {
    await owner.goto(url(`/${teamSlug}/settings/danger`));
    await screenshot(owner, "danger-zone");
    await owner.getByRole("combobox", { name: "New owner" }).click();
    await owner.getByRole("option", { name: new RegExp(MEMBER.name) }).click();
    await owner.getByRole("button", { name: "Transfer ownership" }).click();
    await owner.waitForURL(url(`/${teamSlug}/settings/team`));
    await hasText(owner.getByTestId(`member-${MEMBER.email}`), /owner/i);
    await hasText(owner.getByTestId(`member-${OWNER.email}`), /admin/i);
    // The old owner is an admin now: no Danger Zone.
    await count(owner.getByRole("navigation").getByRole("link", { name: "Danger Zone" }), 0);

    await member.goto(url(`/${teamSlug}/settings/danger`));
    const confirm = member.getByLabel(/Type the slug/);
    const del = member.getByRole("button", { name: "Delete organization" });
    await confirm.fill("wrong-slug");
    await disabled(del);
    await confirm.fill(teamSlug);
    await del.click();
    await lacksText(member.getByTestId("org-switcher"), "Acme Corp");
    await member.getByTestId("org-switcher").click();
    await count(member.getByRole("menuitem", { name: /Acme Corp/ }), 0);
    await member.keyboard.press("Escape");

    // Its keys died with it.
    const res = await fetch(url("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "still there?" }] }),
    });
    expect(res.status).toBe(401);

    // The former owner's dashboard no longer offers it either.
    await owner.goto(url(`/${teamSlug}`));
    await visible(owner.getByText(`No organization “${teamSlug}” among yours.`));
  });

  it("signs out from the profile menu", async () => {
    await owner.goto(url(`/${personalSlug}`));
    await owner.getByTestId("profile-menu").click();
    await owner.getByRole("menuitem", { name: "Sign out" }).click();
    await owner.waitForURL(/\/sign-in$/);
    const me = await ownerCtx.request.get(url("/api/v1/me"));
    expect(me.status()).toBe(401);
    // And back in.
    await owner.getByLabel("Email").fill(OWNER.email);
    await owner.getByRole("textbox", { name: "Password" }).fill("wrong password");
    await owner.getByRole("button", { name: "Sign in" }).click();
    await visible(owner.getByText(/invalid email or password/i));
    await owner.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await owner.getByRole("button", { name: "Sign in" }).click();
    await owner.waitForURL(url(`/${personalSlug}`));
  });
});
