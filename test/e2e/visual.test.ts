/**
 * The dashboard's look in a real browser: the favicon (linked, served, no 404
 * on a page load), the logo in the header, the colour scheme (the system's,
 * then the one picked in the profile menu, kept over a reload), the org
 * switcher telling same-named organizations apart by slug, the project
 * breadcrumb, role labels, charts with one day of data, the incident badge
 * never cut, and every control with an accessible name.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../helpers/app.js";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { inviteToken } from "../helpers/smtp.js";
import {
  count,
  type E2E,
  exactText,
  HAS_CHROMIUM,
  hasText,
  SKIP_REASON,
  screenshot,
  startE2E,
  value,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const NAMELESS =
  /^\s*- (button|combobox|textbox|checkbox|radio|switch|menuitem|tab|link|searchbox|spinbutton)\s*(\[[^\]]*\])?\s*:?\s*$/;

describe.skipIf(!HAS_CHROMIUM)("the dashboard's look", { timeout: 120_000 }, () => {
  let e: E2E;
  let owner: Client;
  const email = uniqueEmail("visual");
  const memberEmail = uniqueEmail("visual-member");
  let twinA = "";
  /** Pages with the whole frame (header, switcher, tabs), each of another kind. */
  const framePages = () => [
    `/${twinA}`,
    `/${twinA}/projects/storefront`,
    `/${twinA}/settings/team`,
    `/${twinA}/security`,
    `/${twinA}/settings/billing`,
  ];
  let twinB = "";
  const contexts: BrowserContext[] = [];

  /** A signed-in browser page; `colorScheme` is the system preference the browser reports. */
  async function signedIn(colorScheme: "light" | "dark" = "light"): Promise<Page> {
    const ctx = await e.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
    contexts.push(ctx);
    ctx.setDefaultTimeout(20_000);
    const res = await ctx.request.post(`${e.origin}/api/auth/sign-in/email`, {
      data: { email, password: PASSWORD },
      headers: { origin: e.origin },
    });
    expect(res.status()).toBe(200);
    return ctx.newPage();
  }

  const scheme = (page: Page) =>
    page.evaluate(() => document.documentElement.getAttribute("data-mantine-color-scheme"));

  beforeAll(async () => {
    e = await startE2E({ env: { TOLLGATE_BILLING: "off" } });
    owner = await e.t.signUp({ email, password: PASSWORD, name: "Vera Visual" });
    const origin = { origin: e.origin };
    // Two organizations with the same name: only their slugs tell them apart.
    const twin = async () => {
      const res = await owner.post("/api/v1/orgs", { name: "Twin Co" }, origin);
      expect(res.status).toBe(201);
      return res.body.slug as string;
    };
    twinA = await twin();
    twinB = await twin();
    expect(twinA).not.toBe(twinB);
    expect(
      (await owner.post(`/api/v1/orgs/${twinA}/projects`, { name: "Storefront", slug: "storefront" }, origin)).status,
    ).toBe(201);
    const key = (
      await owner.post(`/api/v1/orgs/${twinA}/projects/storefront/keys`, { name: "k", environment: "live" }, origin)
    ).body.key as string;
    // A redacting rule: the request below becomes a "redact" incident.
    expect(
      (
        await owner.put(
          `/api/v1/orgs/${twinA}/security-policy`,
          { rules: [{ name: "codename", type: "keyword", pattern: "bluebird", action: "redact" }] },
          origin,
        )
      ).status,
    ).toBe(200);
    const call = (model: string, content: string) =>
      fetch(`${e.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
      });
    expect((await call("mock/echo", "hello")).status).toBe(200);
    expect((await call("mock/echo", "about bluebird")).status).toBe(200);
    // Refused before routing: a model no provider serves.
    expect((await call("nowhere/none", "hello")).status).toBeGreaterThanOrEqual(400);
    await e.t.app.flushLogs();

    const member = await e.t.signUp({ email: memberEmail, password: PASSWORD, name: "Mia Member" });
    expect(
      (await owner.post(`/api/v1/orgs/${twinA}/invitations`, { email: memberEmail, role: "member" }, origin)).status,
    ).toBe(201);
    const token = inviteToken(await e.smtp.waitFor(memberEmail, 10_000));
    expect((await member.post(`/api/v1/invitations/${token}/accept`, undefined, origin)).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await e?.close();
  }, 120_000);

  it("links a favicon that is served, and no page load asks for anything missing", async () => {
    const icon = await fetch(`${e.origin}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toContain("image/svg+xml");
    expect(await icon.text()).toContain("<svg");

    const page = await signedIn();
    const missing: string[] = [];
    // Files only: API answers may be 404 by design (the operator probe hides the admin area from others).
    page.on("response", (r) => {
      if (r.status() === 404 && !["fetch", "xhr"].includes(r.request().resourceType())) missing.push(r.url());
    });
    for (const path of framePages()) {
      await page.goto(`${e.origin}${path}`);
      await visible(page.getByRole("banner").getByRole("img", { name: "Tollgate" }));
      await page.waitForLoadState("networkidle");
    }
    expect(await page.locator('link[rel="icon"]').getAttribute("href")).toBe("/favicon.svg");
    expect(missing).toEqual([]);
  });

  it("shows the logo, named, in the header; it leads back to the organization", async () => {
    const page = await signedIn();
    await page.goto(`${e.origin}/${twinA}/settings/team`);
    const logo = page.getByRole("banner").getByRole("img", { name: "Tollgate" });
    await visible(logo);
    await page.getByRole("banner").getByRole("link", { name: "Tollgate" }).click();
    await page.waitForURL(`${e.origin}/${twinA}`);
  });

  it("follows the system's colour scheme until one is picked in the profile menu, and keeps it over a reload", async () => {
    const dark = await signedIn("dark");
    await dark.goto(`${e.origin}/${twinA}`);
    await visible(dark.getByTestId("org-switcher"));
    await expect.poll(() => scheme(dark)).toBe("dark");
    await dark.goto(`${e.origin}/${twinA}/projects/storefront`);
    await visible(dark.getByTestId("latency-chart"));
    await screenshot(dark, "dark-mode");

    const light = await signedIn("light");
    await light.goto(`${e.origin}/${twinA}`);
    await visible(light.getByTestId("org-switcher"));
    await expect.poll(() => scheme(light)).toBe("light");

    await light.getByTestId("profile-menu").click();
    const picker = light.getByRole("radiogroup", { name: "Appearance" });
    await visible(picker);
    await picker.getByText("Dark", { exact: true }).click();
    await expect.poll(() => scheme(light)).toBe("dark");
    await light.reload();
    await visible(light.getByTestId("org-switcher"));
    await expect.poll(() => scheme(light)).toBe("dark");
    // The page is really dark: the body's background is not white.
    expect(await light.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe("rgb(255, 255, 255)");

    await light.getByTestId("profile-menu").click();
    await light.getByRole("radiogroup", { name: "Appearance" }).getByText("Auto", { exact: true }).click();
    await expect.poll(() => scheme(light)).toBe("light");
    await light.reload();
    await visible(light.getByTestId("org-switcher"));
    await expect.poll(() => scheme(light)).toBe("light");
  });

  it("tells same-named organizations apart by their slugs in the switcher", async () => {
    const page = await signedIn();
    await page.goto(`${e.origin}/${twinA}`);
    await hasText(page.getByTestId("org-switcher"), new RegExp(`Twin Co\\s*${twinA}`));
    await page.getByTestId("org-switcher").click();
    await hasText(page.getByTestId(`org-option-${twinA}`), new RegExp(`Twin Co\\s*${twinA}\\s*Owner`));
    await hasText(page.getByTestId(`org-option-${twinB}`), new RegExp(`Twin Co\\s*${twinB}\\s*Owner`));
    await page.getByTestId(`org-option-${twinB}`).click();
    await page.waitForURL(`${e.origin}/${twinB}`);
    await hasText(page.getByTestId("org-switcher"), twinB);
  });

  it("names the project in the breadcrumb; one day of data draws labelled bars; refused requests read as such", async () => {
    const page = await signedIn();
    await page.goto(`${e.origin}/${twinA}/projects/storefront`);
    await hasText(page.getByTestId("breadcrumb"), /^Projects\s*\/\s*Storefront$/);
    await visible(page.getByTestId("breadcrumb").getByRole("link", { name: "Projects" }));
    await exactText(page.getByTestId("stat-requests"), "3");
    const latency = page.getByTestId("latency-chart");
    await visible(latency.locator('[data-chart="labelled-bars"] .recharts-bar-rectangle').first());
    await expect.poll(() => latency.locator(".recharts-label-list").first().textContent()).toMatch(/\d+ ms/);
    await hasText(page.getByTestId("usage-charts"), "no model (refused before routing)");
    await count(page.getByTestId("usage-charts").getByText("(none)"), 0);
    // Billing's charts too: one day, one project, one model — labelled bars, not a lone point.
    await page.goto(`${e.origin}/${twinA}/settings/billing`);
    await hasText(page.getByTestId("billing-usage-totals"), /^2 requests/);
    await count(page.locator('[data-chart="labelled-bars"]'), 3);
  });

  it("labels roles the same way in badges and selects", async () => {
    const page = await signedIn();
    await page.goto(`${e.origin}/${twinA}/settings/team`);
    await exactText(page.getByTestId(`member-${email}`).getByTestId("member-role"), "Owner");
    const select = page.getByRole("combobox", { name: `Role of ${memberEmail}` });
    await value(select, "Member");
    await select.click();
    await visible(page.getByRole("option", { name: "Admin", exact: true }));
    await visible(page.getByRole("option", { name: "Member", exact: true }));
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "Invite Member" }).click();
    const dialog = page.getByRole("dialog", { name: "Invite Member" });
    await value(dialog.getByRole("combobox", { name: "Role" }), "Member");
  });

  it("shows an incident's action badge whole", async () => {
    const page = await signedIn();
    await page.goto(`${e.origin}/${twinA}/security`);
    await page.getByRole("tab", { name: "Incidents" }).click();
    const badge = page.getByTestId("incident-action").first();
    await hasText(badge, /redact/i);
    // The squeeze that cut it to "REDA…": a narrow window and a long excerpt beside it.
    await page.setViewportSize({ width: 900, height: 900 });
    await page
      .getByTestId("incident-row")
      .first()
      .locator("code")
      .evaluate((el) => {
        el.textContent = `${"lorem ipsum dolor sit amet ".repeat(8)}${"x".repeat(120)}`;
      });
    const cut = await badge.evaluate((el) => {
      const label = el.querySelector(".mantine-Badge-label") ?? el;
      return label.scrollWidth > label.clientWidth + 1;
    });
    expect(cut).toBe(false);
  });

  it("gives every control in the frame and on these pages an accessible name", async () => {
    const page = await signedIn();
    const nameless: string[] = [];
    for (const path of framePages()) {
      await page.goto(`${e.origin}${path}`);
      await visible(page.getByTestId("org-switcher"));
      await page.waitForLoadState("networkidle");
      const tree = await page.locator("body").ariaSnapshot();
      for (const line of tree.split("\n")) if (NAMELESS.test(line)) nameless.push(`${path}: ${line.trim()}`);
    }
    // The profile menu's own controls too.
    await page.getByTestId("profile-menu").click();
    await visible(page.getByRole("radiogroup", { name: "Appearance" }));
    for (const line of (await page.locator("body").ariaSnapshot()).split("\n"))
      if (NAMELESS.test(line)) nameless.push(`profile menu: ${line.trim()}`);
    expect(nameless).toEqual([]);
  });
});
