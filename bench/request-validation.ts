/**
 * Parameter checking cost per request: median and p99 of the inbound checks
 * (checkChatRequest with the zod schema of openai-schema.ts, the Messages
 * schema, the embeddings schema) on typical bodies — a chat request with a
 * system prompt, four turns, a tool and the usual options; a 40-message
 * conversation; an Anthropic request; an embeddings batch of 16 inputs.
 * Timed with process.hrtime.bigint.
 * Run: `npx tsx bench/request-validation.ts [--iterations 50000]`.
 */
import { messagesSchema } from "../src/gateway/inbound/anthropic-schema.js";
import { checkChatRequest } from "../src/gateway/inbound/openai.js";
import { embeddingsSchema } from "../src/gateway/inbound/openai-schema.js";
import { checkParams } from "../src/gateway/inbound/params.js";

const i = process.argv.indexOf("--iterations");
const ITER = i > 0 ? Number(process.argv[i + 1]) : 50_000;

const text = "Explain the plugin encapsulation model of Fastify and how hooks are inherited. ".repeat(6);
const chat = {
  model: "openai/gpt-4o-mini",
  messages: [
    { role: "system", content: "You are a helpful assistant. Answer concisely." },
    { role: "user", content: text },
    { role: "assistant", content: "Sure: plugins get their own context…" },
    { role: "user", content: [{ type: "text", text }] },
  ],
  temperature: 0.7,
  top_p: 1,
  max_tokens: 512,
  stream: true,
  stream_options: { include_usage: true },
  tools: [
    {
      type: "function",
      function: {
        name: "search_docs",
        description: "Search the docs",
        parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
      },
    },
  ],
  tool_choice: "auto",
  user: "u-123",
  metadata: { team: "web" },
};
const long = {
  ...chat,
  messages: Array.from({ length: 40 }, (_, k) => ({ role: k % 2 ? "assistant" : "user", content: text })),
};
const anthropic = {
  model: "anthropic/claude-sonnet-4-5",
  max_tokens: 1024,
  system: "You are a helpful assistant.",
  messages: [
    { role: "user", content: text },
    { role: "assistant", content: [{ type: "text", text: "Sure." }] },
    { role: "user", content: [{ type: "text", text }] },
  ],
  temperature: 0.5,
  stream: true,
};
const embeddings = { model: "openai/text-embedding-3-small", input: Array.from({ length: 16 }, () => text) };

function bench(name: string, fn: () => void) {
  for (let k = 0; k < 2000; k++) fn();
  const times = new Float64Array(ITER);
  for (let k = 0; k < ITER; k++) {
    const t0 = process.hrtime.bigint();
    fn();
    times[k] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  times.sort();
  const med = times[Math.floor(ITER / 2)]!;
  const p99 = times[Math.floor(ITER * 0.99)]!;
  console.log(`${name.padEnd(36)} median ${med.toFixed(2)} µs   p99 ${p99.toFixed(2)} µs`);
}

bench("chat (4 messages, tool, options)", () => checkChatRequest(chat));
bench("chat (40 messages)", () => checkChatRequest(long));
bench("anthropic messages (3 messages)", () => checkParams(messagesSchema, anthropic));
bench("embeddings (16 inputs)", () => checkParams(embeddingsSchema, embeddings));
