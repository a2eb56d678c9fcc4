/**
 * The request log explorer in a real browser: calls through the mock provider with different models,
 * tags, keys, a streamed (slow) one and a failing one; the filter bar narrows the list by status, model,
 * tag, key and latency and keeps every filter in the URL (a reload shows the same view); a row opens
 * its drawer (the URL carries the request id and the filters) with the conversation's roles as chat
 * bubbles, the tool call, the upstream attempts and a curl command that repeats the request with
 * `$TOLLGATE_API_KEY` (never the key); without stored bodies, copying as curl is disabled and says why.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, uniqueEmail } from "../helpers/app.js";
import { personalSlug } from "../helpers/fixtures.js";
import {
  changeAtOnce,
  count,
  disabled,
  type E2E,
  HAS_CHROMIUM,
  hasText,
  SKIP_REASON,
  signIn,
  startE2E,
  value,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const CONVERSATION = [
  { role: "system", content: "You are a terse weather bot." },
  { role: "user", content: "Is it raining in Paris?" },
  {
    role: "assistant",
    content: null,
    tool_calls: [
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' } },
    ],
  },
  { role: "tool", tool_call_id: "call_1", content: '{"rain":true,"celsius":12}' },
  { role: "user", content: "So, an umbrella? It's a question with a quote in it." },
];
const TOOLS = [
  {
    type: "function",
    function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
  },
];

describe.skipIf(!HAS_CHROMIUM)(
  "request log explorer: filters in the URL, a request's drawer",
  { timeout: 180_000 },
  () => {
    let e: E2E;
    let ctx: BrowserContext;
    let page: Page;
    let slug = "";
    let key = "";
    const email = uniqueEmail("explorer");

    beforeAll(async () => {
      e = await startE2E({ env: { TOLLGATE_BILLING: "off" } });
      const owner = await e.t.signUp({ email, password: PASSWORD, name: "Ella Explorer" });
      slug = await personalSlug(owner);
      const origin = { origin: e.origin };
      const project = async (body: Record<string, unknown>) =>
        expect((await owner.post(`/api/v1/orgs/${slug}/projects`, body, origin)).status).toBe(201);
      await project({ name: "Explore", slug: "explore", logBodies: true });
      await project({ name: "Quiet", slug: "quiet" });
      const newKey = async (p: string, name: string) =>
        (await owner.post(`/api/v1/orgs/${slug}/projects/${p}/keys`, { name, environment: "live" }, origin)).body
          .key as string;
      key = await newKey("explore", "web-app");
      const batchKey = await newKey("explore", "batch-jobs");
      const quietKey = await newKey("quiet", "quiet-key");
      const call = async (k: string, tags: string | null, body: Record<string, unknown>) => {
        const res = await fetch(`${e.origin}/v1/chat/completions`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${k}`,
            "content-type": "application/json",
            ...(tags ? { "x-tollgate-tags": tags } : {}),
          },
          body: JSON.stringify(body),
        });
        await res.text();
        return res.status;
      };
      expect(await call(key, "checkout", { model: "mock/echo", messages: CONVERSATION, tools: TOOLS })).toBe(200);
      // Streamed word by word: the slow one (about two seconds).
      expect(
        await call(key, "search", {
          model: "mock/lorem",
          stream: true,
          max_tokens: 120,
          messages: [{ role: "user", content: "a long answer please" }],
        }),
      ).toBe(200);
      expect(
        await call(key, "checkout", { model: "mock/no-such-model", messages: [{ role: "user", content: "hi" }] }),
      ).toBe(404);
      expect(
        await call(batchKey, null, { model: "mock/echo", messages: [{ role: "user", content: "nightly batch" }] }),
      ).toBe(200);
      expect(
        await call(quietKey, null, { model: "mock/echo", messages: [{ role: "user", content: "not kept" }] }),
      ).toBe(200);
      await e.t.app.flushLogs();

      ({ ctx, page } = await signIn(e, email, { width: 1400, height: 1000 }));
      await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: e.origin });
    }, 120_000);

    afterAll(async () => {
      await e?.close();
    }, 120_000);

    const rows = () => page.getByTestId("log-row");
    const query = () => new URL(page.url()).searchParams;
    const pickStatus = async (label: string) => {
      await page.getByRole("combobox", { name: "Status" }).click();
      await page.getByRole("option", { name: label, exact: true }).click();
    };
    const clearFilters = async () => {
      await page.getByRole("button", { name: "Clear filters" }).click();
      await count(rows(), 4);
      await expect.poll(() => page.url()).toMatch(/\/logs$/);
    };

    it("narrows the list by status, model, tag, key and latency, each kept in the URL", async () => {
      await page.goto(`${e.origin}/${slug}/projects/explore/logs`);
      await count(rows(), 4);

      await pickStatus("Error");
      await count(rows(), 1);
      await hasText(rows().first(), "404");
      expect(query().get("outcome")).toBe("error");
      await clearFilters();

      await pickStatus("4xx");
      await count(rows(), 1);
      expect(query().get("status")).toBe("4xx");
      await clearFilters();

      await page.getByLabel("Model", { exact: true }).fill("mock/lorem");
      await count(rows(), 1);
      await expect.poll(() => query().get("model")).toBe("mock/lorem");
      await clearFilters();
      await value(page.getByLabel("Model", { exact: true }), "");

      await page.getByLabel("Tag", { exact: true }).fill("checkout");
      await count(rows(), 2);
      await expect.poll(() => query().get("tag")).toBe("checkout");
      await pickStatus("OK");
      await count(rows(), 1);
      await hasText(rows().first(), "mock/echo");
      expect(query().get("outcome")).toBe("ok");
      await clearFilters();

      await page.getByRole("combobox", { name: "Key" }).click();
      await page.getByRole("option", { name: "batch-jobs" }).click();
      await count(rows(), 1);
      await hasText(rows().first(), "mock/echo");
      expect(query().get("keyId")).toMatch(/.+/);
      await clearFilters();

      // A value the API would refuse is flagged and not sent.
      const minLatency = page.getByLabel("Min latency (ms)");
      await minLatency.fill("fast");
      await visible(page.getByText("Whole milliseconds, e.g. 500"));
      await count(rows(), 4);
      await minLatency.fill("1000");
      await count(rows(), 1);
      await hasText(rows().first(), "mock/lorem");
      await expect.poll(() => query().get("minLatencyMs")).toBe("1000");

      // The URL is the view: reloaded (or shared), the same filter and rows.
      await page.goto(page.url());
      await value(page.getByLabel("Min latency (ms)"), "1000");
      await count(rows(), 1);
      await clearFilters();
    });

    it("two filters changed before the page renders again both stay in the URL", async () => {
      await changeAtOnce(page.getByTestId("log-filters").locator('input[type="datetime-local"]'), [
        "2026-01-01T00:00",
        "2099-12-31T23:59",
      ]);
      await expect.poll(() => [query().has("from"), query().has("to")]).toEqual([true, true]);
      await count(rows(), 4);
      await clearFilters();
    });

    it("opens a request in a drawer: transcript roles, tool call, attempts, copy as curl; the URL keeps the filters", async () => {
      await page.goto(`${e.origin}/${slug}/projects/explore/logs?tag=checkout&outcome=ok`);
      await count(rows(), 1);
      await rows().first().click();
      await page.waitForURL(/\/logs\/[0-9a-f-]{36}\?/);
      expect(query().get("tag")).toBe("checkout");
      expect(query().get("outcome")).toBe("ok");
      const drawer = page.getByRole("dialog", { name: /Request/ });
      await visible(drawer);
      const detail = drawer.getByTestId("log-detail");

      // The conversation as chat bubbles, one per turn, every role.
      const turns = detail.getByTestId("log-request-body").getByTestId("transcript-turn");
      await count(turns, 5);
      expect(await turns.evaluateAll((els) => els.map((el) => el.getAttribute("data-role")))).toEqual([
        "system",
        "user",
        "assistant",
        "tool",
        "user",
      ]);
      await hasText(turns.nth(0), "You are a terse weather bot.");
      const toolCall = turns.nth(2).getByTestId("transcript-tool-call");
      await hasText(toolCall, /Tool call: get_weather/);
      await hasText(toolCall, /"city": "Paris",\s*"unit": "c"/);
      await hasText(turns.nth(3), /"rain": true,\s*"celsius": 12/);
      await visible(detail.getByTestId("log-response-body").getByTestId("transcript-turn"));
      await hasText(detail.getByTestId("log-policy"), "found nothing");
      await hasText(detail.getByTestId("log-facts"), /web-app/);

      // The upstream attempts: one call to the mock, answered, with its duration.
      const attempts = detail.getByTestId("log-attempt");
      await count(attempts, 1);
      await hasText(attempts.first(), /#1\s*mock\/echo\s*ok\s*\d+ ms/);

      // Copy as curl: the stored body, this server's endpoint, the tags, and the key as a variable.
      const command = detail.getByTestId("log-curl-command");
      await hasText(command, `curl ${e.origin}/v1/chat/completions`);
      const shown = ((await command.textContent()) ?? "").trim();
      expect(shown).toContain('-H "Authorization: Bearer $TOLLGATE_API_KEY"');
      expect(shown).toContain("x-tollgate-tags: checkout");
      expect(shown).toContain("It'\\''s a question");
      expect(shown).not.toContain(key);
      await detail.getByRole("button", { name: "Copy as curl" }).click();
      await visible(detail.getByRole("button", { name: "Copied" }));
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown);
      // And the command works: the same request again, with a key from the environment.
      // (Asynchronously: the server answering it runs in this process.)
      const run = await promisify(execFile)("sh", ["-c", `${shown} --silent`], {
        env: { ...process.env, TOLLGATE_API_KEY: key },
      });
      const answer = JSON.parse(run.stdout);
      expect(answer.object).toBe("chat.completion");

      // Closing goes back to the filtered list.
      await detail.getByRole("link", { name: "← All logs" }).click();
      await page.waitForURL(/\/logs\?/);
      expect(query().get("tag")).toBe("checkout");
      await count(drawer, 0);
      await count(rows(), 1);
    });

    it("a failed request has no upstream attempt and no answer; the error says why", async () => {
      await page.goto(`${e.origin}/${slug}/projects/explore/logs?status=4xx`);
      await count(rows(), 1);
      await rows().first().click();
      const detail = page.getByRole("dialog", { name: /Request/ }).getByTestId("log-detail");
      await hasText(detail.getByTestId("log-attempts"), "No upstream call");
      await hasText(detail, /No answer: the request ended with model_not_found/);
      await page.keyboard.press("Escape");
      await page.waitForURL(/\/logs\?status=4xx$/);
    });

    it("without stored bodies, copy as curl is disabled and says why", async () => {
      await page.goto(`${e.origin}/${slug}/projects/quiet/logs`);
      await count(rows(), 1);
      await rows().first().click();
      const detail = page.getByRole("dialog", { name: /Request/ }).getByTestId("log-detail");
      await disabled(detail.getByRole("button", { name: "Copy as curl" }));
      await hasText(detail.getByTestId("log-curl-unavailable"), "does not store request bodies");
      await hasText(detail, /Not stored: this project does not keep request bodies/);
      await count(detail.getByTestId("log-attempt"), 1);
    });
  },
);
