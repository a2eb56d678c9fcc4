/**
 * Tags and end users in a real browser: the billing page's usage grouped by
 * tag and by end user (requests without one under their own row), and the
 * request logs showing a request's end user and tags, filtered by tag, with its
 * metadata on the detail page.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import { count, type E2E, HAS_CHROMIUM, hasText, SKIP_REASON, startE2E, visible, signIn } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

describe.skipIf(!HAS_CHROMIUM)("usage by tag and end user, tags on request logs", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let slug = "";
  const email = uniqueEmail("tags");

  beforeAll(async () => {
    e = await startE2E({
      env: {
        TOLLGATE_BILLING: "off",
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "2" } }),
      },
    });
    const owner = await e.t.signUp({ email, password: PASSWORD, name: "Tina Tagger" });
    slug = await personalSlug(owner);
    const origin = { origin: e.origin };
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Shop", slug: "shop" }, origin)).status).toBe(
      201,
    );
    const key = (
      await owner.post(`/api/v1/orgs/${slug}/projects/shop/keys`, { name: "k", environment: "live" }, origin)
    ).body.key as string;
    const call = async (tags: string | null, extra: Record<string, unknown>) => {
      const res = await fetch(`${e.origin}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          ...(tags ? { "x-tollgate-tags": tags } : {}),
        },
        body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "label me" }], ...extra }),
      });
      expect(res.status).toBe(200);
    };
    await call("checkout,beta", { user: "customer-42", metadata: { feature: "search" } });
    await call("checkout", { user: "customer-7" });
    await call(null, {});
    await e.t.app.flushLogs();
    ({ page } = await signIn(e, email));
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("the billing page groups usage by tag and by end user", async () => {
    await page.goto(`${e.origin}/${slug}/settings/billing`);
    await hasText(page.getByTestId("billing-usage-totals"), /^3 requests/);
    await page.getByRole("combobox", { name: "Group by" }).click();
    await page.getByRole("option", { name: "By tag" }).click();
    const table = page.getByRole("table", { name: "Usage by tag" });
    await visible(table);
    await count(table.getByTestId("usage-group-row"), 3);
    await hasText(table.getByRole("row", { name: /checkout/ }), /checkout\s+2/);
    await hasText(table.getByRole("row", { name: /beta/ }), /beta\s+1/);
    await hasText(table.getByRole("row", { name: /\(no tag\)/ }), /\(no tag\)\s+1/);

    await page.getByRole("combobox", { name: "Group by" }).click();
    await page.getByRole("option", { name: "By end user" }).click();
    const users = page.getByRole("table", { name: "Usage by end user" });
    await count(users.getByTestId("usage-group-row"), 3);
    await hasText(users, /customer-42/);
    await hasText(users, /\(no end user\)/);
  });

  it("the request logs show end users and tags, filter by tag, and show the metadata", async () => {
    await page.goto(`${e.origin}/${slug}/projects/shop/logs`);
    await count(page.getByTestId("log-row"), 3);
    await page.getByLabel("Tag").fill("beta");
    await count(page.getByTestId("log-row"), 1);
    await hasText(page.getByTestId("log-user-tags"), /customer-42\s*checkout\s*beta/);
    await page.getByLabel("Tag").fill("");
    // One row either way: wait for the row of the end user asked for, not just for one row.
    await page.getByLabel("End user").fill("customer-7");
    await count(page.getByTestId("log-row"), 1);
    await hasText(page.getByTestId("log-user-tags"), /customer-7/);
    await page.getByLabel("End user").fill("customer-42");
    await count(page.getByTestId("log-row"), 1);
    await hasText(page.getByTestId("log-user-tags"), /customer-42/);
    await page.getByTestId("log-row").first().click();
    await hasText(page.getByTestId("log-metadata"), /"feature": "search"/);
  });
});
