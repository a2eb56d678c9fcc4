/**
 * The response cache in a real browser: the owner turns it on in the project
 * settings (Exact match, a TTL with its hint in words), two identical requests
 * through the gateway with a key of the project are a miss and a hit, and the
 * request logs mark the second one, in the list and on its detail page, as a
 * cache hit (the miss carries no mark).
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import { count, type E2E, HAS_CHROMIUM, hasText, SKIP_REASON, startE2E, value, visible, signIn } from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

describe.skipIf(!HAS_CHROMIUM)("response cache in project settings and request logs", { timeout: 120_000 }, () => {
  let e: E2E;
  let page: Page;
  let owner: Client;
  let slug = "";
  let key = "";
  const email = uniqueEmail("cache");

  const ask = () =>
    fetch(`${e.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "the same question" }] }),
    });

  beforeAll(async () => {
    e = await startE2E({ env: { TOLLGATE_BILLING: "off" } });
    owner = await e.t.signUp({ email, password: PASSWORD, name: "Cora Cache" });
    slug = await personalSlug(owner);
    const origin = { origin: e.origin };
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Chat", slug: "chat" }, origin)).status).toBe(
      201,
    );
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/chat/keys`, { name: "k", environment: "live" }, origin)).body
      .key as string;
    ({ page } = await signIn(e, email));
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  }, 120_000);

  it("turns the cache on in the project settings, with a TTL and its hint in words", async () => {
    await page.goto(`${e.origin}/${slug}/projects/chat/settings`);
    const section = page.getByTestId("cache-settings");
    await hasText(section, /without calling the provider/);
    await hasText(section, /x-tollgate-cache: no-store/);
    // Off by default: no TTL to set.
    await value(section.getByRole("combobox", { name: "Response cache" }), "Off");
    await count(section.getByLabel("Keep answers for (seconds)"), 0);

    await section.getByRole("combobox", { name: "Response cache" }).click();
    await page.getByRole("option", { name: "Exact match" }).click();
    const ttl = section.getByLabel("Keep answers for (seconds)");
    await value(ttl, "3600");
    await hasText(section, /1 hour/);
    await ttl.fill("7200");
    await hasText(section, /2 hours/);
    await page.getByRole("button", { name: "Save settings" }).click();
    await visible(page.getByText("Project settings saved."));
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/chat`)).body.cache).toEqual({
      mode: "exact",
      ttlSeconds: 7200,
    });

    // Saved: a reload shows the server's copy.
    await page.reload();
    await value(page.getByTestId("cache-settings").getByRole("combobox", { name: "Response cache" }), "Exact match");
    await value(page.getByLabel("Keep answers for (seconds)"), "7200");
  });

  it("a repeated request is answered from the cache, and the logs mark it a cache hit", async () => {
    const first = await ask();
    expect(first.status).toBe(200);
    expect(first.headers.get("x-tollgate-cache")).toBe("miss");
    const second = await ask();
    expect(second.status).toBe(200);
    expect(second.headers.get("x-tollgate-cache")).toBe("hit");
    const answer = (r: Response) => r.json().then((b) => b.choices[0].message.content as string);
    expect(await answer(second)).toBe(await answer(first));
    await e.t.app.flushLogs();

    await page.goto(`${e.origin}/${slug}/projects/chat/logs`);
    const rows = page.getByTestId("log-row");
    await count(rows, 2);
    // Newest first: the hit carries the badge, the miss none.
    await hasText(rows.nth(0), /cache hit/);
    await count(rows.nth(0).getByTestId("log-cache-hit"), 1);
    await count(rows.nth(1).getByTestId("log-cache-hit"), 0);
    await count(page.getByTestId("log-cache-hit"), 1);

    await rows.nth(0).click();
    await hasText(page.getByTestId("log-detail"), second.headers.get("x-request-id")!);
    await visible(page.getByTestId("log-detail").getByTestId("log-cache-hit"));

    await page.getByRole("link", { name: "← All logs" }).click();
    await count(rows, 2);
    await rows.nth(1).click();
    await hasText(page.getByTestId("log-detail"), first.headers.get("x-request-id")!);
    await count(page.getByTestId("log-detail").getByTestId("log-cache-hit"), 0);

    // The overview counts the hit: one of two lookups.
    await page.goto(`${e.origin}/${slug}/projects/chat`);
    await hasText(page.getByTestId("stat-cache-hits"), /^1 \(50\.0%\)$/);
  });
});
