/**
 * Every page of the dashboard through axe-core (the accessibility engine, run in the browser): no
 * serious or critical violation of WCAG 2 A/AA rules — signed out (sign-in, single sign-on, sign-up,
 * password reset, email verification, an invitation), signed in as an owner with data on every
 * organization page, in light and in dark mode, and the operator's admin area.
 */
import { AxeBuilder } from "@axe-core/playwright";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { grantCredits, personalSlug } from "../helpers/fixtures.js";
import { inviteToken } from "../helpers/smtp.js";
import { type E2E, HAS_CHROMIUM, newPage, signIn, SKIP_REASON, startE2E } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

/**
 * Each path visited once it has loaded its data (a heading shows, no request in flight), with the serious
 * and critical violations found there, one line each.
 */
async function violationsOn(page: Page, origin: string, paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    await page.goto(`${origin}${path}`);
    await page.getByRole("heading").first().waitFor();
    await page.waitForLoadState("networkidle");
    for (const v of await violations(page)) found.push(`${path}: ${v}`);
  }
  return found;
}

/** The serious and critical violations on the page as it is now, one line each. */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => `${n.target.join(" ")} [${n.any[0]?.message ?? ""}]`).join(", ")}`,
    );
}

describe.skipIf(!HAS_CHROMIUM)("accessibility (axe-core) on every page", { timeout: 300_000 }, () => {
  let e: E2E;
  let slug = "";
  let requestId = "";
  let invitation = "";
  const email = uniqueEmail("a11y");
  const operator = uniqueEmail("a11y-operator");

  beforeAll(async () => {
    e = await startE2E({
      env: {
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "2" } }),
        TOLLGATE_ADMIN_EMAILS: operator,
      },
    });
    await e.t.signUp({ email: operator, password: PASSWORD, name: "Opal Operator" });
    const owner = await e.t.signUp({ email, password: PASSWORD, name: "Alex Access" });
    slug = await personalSlug(owner);
    await grantCredits(e.t, slug, "5");
    const origin = { origin: e.origin };
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Web", slug: "web" }, origin)).status).toBe(201);
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/web/keys`, { name: "k", environment: "live" }, origin))
      .body.key as string;
    const res = await fetch(`${e.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(res.status).toBe(200);
    requestId = res.headers.get("x-request-id")!;
    await e.t.app.flushLogs();
    const invited = uniqueEmail("a11y-invited");
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: invited, role: "member" }, origin)).status,
    ).toBe(201);
    invitation = inviteToken(await e.smtp.waitFor(invited, 10_000));
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  const orgPages = () => [
    `/${slug}`,
    `/${slug}/projects/web`,
    `/${slug}/projects/web/keys`,
    `/${slug}/projects/web/logs`,
    `/${slug}/projects/web/logs/${requestId}`,
    `/${slug}/projects/web/playground`,
    `/${slug}/projects/web/settings`,
    `/${slug}/providers`,
    `/${slug}/routing`,
    `/${slug}/security`,
    `/${slug}/audit`,
    `/${slug}/settings/general`,
    `/${slug}/settings/team`,
    `/${slug}/settings/billing`,
    `/${slug}/settings/log-destinations`,
    `/${slug}/settings/api-tokens`,
    `/${slug}/settings/sso`,
    `/${slug}/settings/danger`,
  ];

  it("signed-out pages", async () => {
    const page = await newPage(e);
    const found = await violationsOn(page, e.origin, [
      "/sign-in",
      "/sign-in/sso",
      "/sign-up",
      "/forgot-password",
      "/reset-password?token=unknown",
      "/verify-email?token=unknown",
      `/invite/${invitation}`,
    ]);
    await page.context().close();
    expect(found).toEqual([]);
  });

  for (const scheme of ["light", "dark"] as const)
    it(`every organization page, ${scheme} mode`, async () => {
      const { ctx, page } = await signIn(e, email, { colorScheme: scheme });
      const found = await violationsOn(page, e.origin, orgPages());
      await ctx.close();
      expect(found).toEqual([]);
    });

  it("the operator's admin area", async () => {
    const { ctx, page } = await signIn(e, operator);
    const found = await violationsOn(page, e.origin, ["/admin"]);
    await ctx.close();
    expect(found).toEqual([]);
  });
});
