/**
 * Shared setup of the Bedrock adapter tests: the fake's account (a permanent
 * key, and temporary credentials with a session token), two fakes on loopback
 * (one reporting prompt-cache usage), a real undici Agent, call options,
 * targets, and small readers of streams and failures.
 */
import { Agent } from "undici";
import { afterAll, beforeAll } from "vitest";
import {
  bedrockTarget,
  type BedrockTarget,
  type BedrockUpstreamTarget,
} from "../../src/gateway/providers/bedrock/index.js";
import { type CallOptions, type ChatResult, UpstreamError } from "../../src/gateway/providers/types.js";
import type { ChatChunk } from "../../src/gateway/types.js";
import { type BedrockFake, startBedrockFake } from "../fakes/bedrock-fake.js";

export const REGION = "us-east-1";
export const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
export const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
export const TEMP_KEY_ID = "ASIAQWERTYUIOPASDFGH";
export const TEMP_SECRET = "tEmPoRaRyS3cReT/kEy+0123456789abcdefGHIJ";
export const TOKEN = "IQoJb3JpZ2luX2VjEFakeSessionTokenForTestsOnly0123456789abcdefghijklmnop";
export const CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0";

export const WEATHER = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

export interface BedrockSetup {
  agent: Agent;
  fake: BedrockFake;
  /** Reports 100 input, 300 cache-read, 1000 cache-write and 20 output tokens for every chat. */
  cacheFake: BedrockFake;
  opts(signal?: AbortSignal): CallOptions;
  target(model?: string, over?: Partial<BedrockTarget>, baseUrl?: string): BedrockUpstreamTarget;
}

/** Starts the fakes before the file's tests and closes them after. */
export function bedrockSetup(): BedrockSetup {
  const s = { agent: new Agent() } as BedrockSetup;
  beforeAll(async () => {
    const credentials = {
      [KEY_ID]: { secretAccessKey: SECRET },
      [TEMP_KEY_ID]: { secretAccessKey: TEMP_SECRET, sessionToken: TOKEN },
    };
    s.fake = await startBedrockFake({ region: REGION, credentials });
    s.cacheFake = await startBedrockFake({
      region: REGION,
      credentials,
      usage: {
        inputTokens: 100,
        outputTokens: 20,
        totalTokens: 1420,
        cacheReadInputTokens: 300,
        cacheWriteInputTokens: 1000,
      },
    });
  });
  afterAll(async () => {
    await Promise.all([s.fake.close(), s.cacheFake.close()]);
    await s.agent.close();
  });
  s.opts = (signal = new AbortController().signal) => ({
    signal,
    dispatcher: s.agent,
    timeouts: { connectMs: 2_000, firstByteMs: 5_000, idleMs: 5_000, totalMs: 15_000 },
  });
  s.target = (model = CLAUDE, over = {}, baseUrl = s.fake.url) =>
    bedrockTarget({ region: REGION, accessKeyId: KEY_ID, secretAccessKey: SECRET, baseUrl, ...over }, model);
  return s;
}

export async function collect(r: ChatResult): Promise<ChatChunk[]> {
  if (r.kind !== "stream") throw new Error("a stream was expected");
  const out: ChatChunk[] = [];
  for await (const c of r.stream) out.push(c);
  return out;
}

/** The UpstreamError a call failed with (the test fails if it did not fail so). */
export async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof UpstreamError)) throw new Error(`an UpstreamError was expected, got ${String(e)}`);
  return e;
}
