/**
 * The targets under test and how to call them: Tollgate (bench/lib/tollgate-target.ts), the two
 * floors (`bare`: node:http + a tuned undici pool; `plain`: node:http + undici's global dispatcher)
 * and Portkey's open-source gateway.
 */
import path from "node:path";
import { GATEWAY_CORE, PORTKEY_ENTRY, ROOT, STORE, type TargetName } from "./config.js";
import { freePort, type Proc, start, waitFor } from "./processes.js";

export type Api = "chat" | "responses";

export interface Target {
  name: TargetName;
  proc: Proc;
  url: string;
  headers: Record<string, string>;
  /** Tollgate: the key of a project with the response cache on (the cache scenarios). */
  cacheHeaders?: Record<string, string>;
}

export const isTollgate = (t: TargetName) => t.startsWith("tollgate");
export const isStrict = (t: TargetName) => t.endsWith("-strict");

const chatBody = (stream: boolean) =>
  JSON.stringify({
    model: "openai/gpt-4o-mini",
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    messages: [
      { role: "system", content: "You are a concise assistant." },
      { role: "user", content: "Say something about foxes and dogs in one sentence." },
    ],
  });

/** The same conversation through the Responses API (stored, as the API's default is). */
const responsesBody = (stream: boolean) =>
  JSON.stringify({
    model: "openai/gpt-4o-mini",
    stream,
    instructions: "You are a concise assistant.",
    input: "Say something about foxes and dogs in one sentence.",
    ...(STORE ? {} : { store: false }),
  });

/**
 * Portkey and the proxies pass the model through; the mock echoes whatever it gets. The Responses
 * API scenarios send every target the same Responses request (Tollgate serves it natively: OpenAI's
 * own API upstream, the conversation stored by Tollgate).
 */
export const bodyFor = (t: TargetName, stream: boolean, api: Api = "chat") => {
  const body = api === "responses" ? responsesBody(stream) : chatBody(stream);
  return isTollgate(t) ? body : body.replace('"openai/gpt-4o-mini"', '"gpt-4o-mini"');
};
export const urlFor = (t: Pick<Target, "name" | "url">, api: Api = "chat") =>
  api === "responses" ? t.url.replace("/chat/completions", "/responses") : t.url;

export async function checkWorks(t: Omit<Target, "proc">, stream: boolean): Promise<boolean> {
  const res = await fetch(t.url, {
    method: "POST",
    headers: { ...t.headers, "content-type": "application/json" },
    body: bodyFor(t.name, stream),
  });
  const text = await res.text();
  if (res.status === 402)
    throw new Error(`${t.name}: 402 (this build meters every request: run with --metering on) ${text.slice(0, 200)}`);
  if (res.status !== 200) throw new Error(`${t.name}: ${res.status} ${text.slice(0, 300)}`);
  return stream ? text.includes("[DONE]") && text.includes("fox") : text.includes('"choices"') && text.includes("fox");
}

/** A proxy from bench/ (`bare-proxy.ts`, `plain-proxy.ts`), run with tsx like the mock. */
async function startProxy(name: "bare" | "plain", mockUrl: string): Promise<Target> {
  const port = await freePort();
  const proc = start(name, GATEWAY_CORE, process.execPath, [
    "--import",
    "tsx",
    path.join(ROOT, `bench/${name}-proxy.ts`),
    String(port),
    mockUrl,
  ]);
  const t = { name, url: `http://127.0.0.1:${port}/v1/chat/completions`, headers: {} };
  await waitFor(proc, "a chat completion", () => checkWorks(t, false));
  await waitFor(proc, "a streamed chat completion", () => checkWorks(t, true), 10_000);
  return { ...t, proc };
}

export const startBare = (mockUrl: string) => startProxy("bare", mockUrl);
export const startPlain = (mockUrl: string) => startProxy("plain", mockUrl);

export async function startPortkey(mockUrl: string): Promise<Target> {
  const port = await freePort();
  // --port=N (with "="), --headless: no UI. Loopback custom hosts are trusted by default
  // (TRUSTED_CUSTOM_HOSTS, default localhost/127.0.0.1/::1).
  const proc = start("portkey", GATEWAY_CORE, process.execPath, [PORTKEY_ENTRY, `--port=${port}`, "--headless"], {
    NODE_ENV: "production",
  });
  const t = {
    name: "portkey" as const,
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    headers: { "x-portkey-provider": "openai", "x-portkey-custom-host": `${mockUrl}/v1`, authorization: "Bearer x" },
  };
  await waitFor(proc, "a chat completion", () => checkWorks(t, false));
  await waitFor(proc, "a streamed chat completion", () => checkWorks(t, true), 10_000);
  return { ...t, proc };
}
