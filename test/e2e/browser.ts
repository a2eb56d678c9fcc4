/**
 * End-to-end plumbing: the built dashboard, a real Tollgate server listening on
 * 127.0.0.1 (in-process, PGlite unless TEST_DATABASE_URL is set) with a real
 * SMTP server, and the system's Debian Chromium driven by playwright-core.
 * Never a downloaded browser: without /usr/bin/chromium (or CHROMIUM_PATH)
 * the suites skip and say why.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import { PASSWORD, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtp, type TestSmtp } from "../helpers/smtp.js";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);
export const SKIP_REASON = `browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
/** `TOLLGATE_SCREENSHOTS=1` (npm run screenshots) writes docs/screenshots/*.png while the flows run. */
export const SCREENSHOTS = process.env.TOLLGATE_SCREENSHOTS === "1";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the dashboard when dist/web is missing or older than its sources (a few seconds). */
export function ensureDashboardBuilt(): void {
  const index = path.join(REPO, "dist/web/index.html");
  const sources = Math.max(
    newestMtime(path.join(REPO, "web")),
    statSync(path.join(REPO, "src/platform/permissions.ts")).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(
    process.execPath,
    [path.join(REPO, "node_modules/vite/bin/vite.js"), "build", "--config", "web/vite.config.ts", "--logLevel", "warn"],
    {
      cwd: REPO,
      stdio: "inherit",
    },
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface E2E {
  t: TestApp;
  smtp: TestSmtp;
  browser: Browser;
  /** The origin the browser uses; also the server's PUBLIC_URL (the CSRF guard compares Origin with it). */
  origin: string;
  close(): Promise<void>;
}

/** `env`: extra server settings for a suite (e.g. TOLLGATE_BILLING=off). */
export async function startE2E(opts: { env?: Record<string, string> } = {}): Promise<E2E> {
  ensureDashboardBuilt();
  const smtp = await startSmtp();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const t = await startTestApp({ env: { ...opts.env, PUBLIC_URL: origin, SMTP_URL: smtp.url } });
  await t.app.server.listen({ port, host: "127.0.0.1" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    t,
    smtp,
    browser,
    origin,
    async close() {
      await browser.close();
      await t.close();
      await smtp.close();
    },
  };
}

/** A page in a new browser context (its own cookies) with the suites' viewport and 20 s default timeout. */
export async function newPage(
  e: Pick<E2E, "browser">,
  opts: { width?: number; height?: number; colorScheme?: "light" | "dark" } = {},
): Promise<Page> {
  const ctx = await e.browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    ...(opts.colorScheme ? { colorScheme: opts.colorScheme } : {}),
  });
  ctx.setDefaultTimeout(20_000);
  return ctx.newPage();
}

/** A new browser context signed in as `email` (the tests' password unless given), its page past the sign-in form. */
export async function signIn(
  e: E2E,
  email: string,
  opts: { width?: number; height?: number; colorScheme?: "light" | "dark"; password?: string } = {},
): Promise<{ ctx: BrowserContext; page: Page }> {
  const page = await newPage(e, opts);
  const ctx = page.context();
  await page.goto(`${e.origin}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("textbox", { name: "Password" }).fill(opts.password ?? PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
  return { ctx, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  const dir = path.join(REPO, "docs/screenshots");
  mkdirSync(dir, { recursive: true });
  // Let charts finish their entry animation.
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
}

// --- waiting assertions (playwright-core has no `expect`; these poll like it does) ---

// Generous: CI machines with two busy cores render slowly.
const T = { timeout: 20_000, interval: 100 };
const textOf = (l: Locator) =>
  l
    .first()
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText, not the DOM property; the assertions compare the text a user sees, which textContent (hidden nodes included) is not
    .innerText({ timeout: 1000 })
    .catch(() => "");

/**
 * Types `values` into the matched inputs (in order) within one task, as a fast user or a slow machine
 * can: each change fires its input event before the page renders the one before it.
 */
export async function changeAtOnce(inputs: Locator, values: string[]): Promise<void> {
  await count(inputs, values.length);
  await inputs.evaluateAll((els: HTMLInputElement[], vs: string[]) => {
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set;
    els.forEach((el, i) => {
      setValue?.call(el, vs[i]);
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }, values);
}

export const visible = (l: Locator) => l.first().waitFor({ state: "visible", timeout: T.timeout });
export const count = (l: Locator, n: number) => expect.poll(() => l.count(), T).toBe(n);
export const hasText = (l: Locator, text: string | RegExp) => expect.poll(() => textOf(l), T).toMatch(text);
export const lacksText = (l: Locator, text: string) => expect.poll(() => textOf(l), T).not.toContain(text);
export const exactText = (l: Locator, text: string) => expect.poll(async () => (await textOf(l)).trim(), T).toBe(text);
export const value = (l: Locator, v: string) =>
  expect.poll(() => l.inputValue({ timeout: 1000 }).catch(() => ""), T).toBe(v);
export const disabled = (l: Locator) => expect.poll(() => l.isDisabled({ timeout: 1000 }), T).toBe(true);
/** Whether the element's box lies within the window (a folded sidebar is rendered but translated off-screen). */
export const inViewport = (l: Locator, yes: boolean) =>
  expect
    .poll(
      () =>
        l.first().evaluate((el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.right > 0 && r.left < window.innerWidth && r.bottom > 0 && r.top < window.innerHeight;
        }),
      T,
    )
    .toBe(yes);
