/**
 * The playground's call: `POST …/playground/chat/completions` (the gateway's chat completions with the
 * person's playground key), streamed. The answer's events are read as they arrive; what the gateway says
 * about the call (provider, model served, request id) comes from its headers, usage and cost from the
 * last chunk (`stream_options.include_usage`).
 */
import { createParser } from "eventsource-parser";
import { projectUrl } from "./api";

export interface PlaygroundMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface PlaygroundParams {
  model: string;
  temperature?: number;
  maxTokens?: number;
}

export interface PlaygroundAnswer {
  requestId: string | null;
  provider: string | null;
  modelServed: string | null;
  text: string;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: string | null;
  firstTokenMs: number | null;
  totalMs: number;
}

/** A refusal or failure as the gateway answered it (OpenAI's error shape), with its request id. */
export class PlaygroundError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

interface Chunk {
  choices?: Array<{ delta?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  tollgate?: { cost_usd?: string };
  error?: { message?: string; code?: string | null };
}

export async function streamChat(
  org: string,
  project: string,
  messages: PlaygroundMessage[],
  params: PlaygroundParams,
  onText: (delta: string) => void,
  signal: AbortSignal,
): Promise<PlaygroundAnswer> {
  const started = performance.now();
  const res = await fetch(projectUrl(org, project, "/playground/chat/completions"), {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    signal,
    body: JSON.stringify({
      model: params.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
      ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
    }),
  });
  const requestId = res.headers.get("x-request-id");
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string; code?: string } } | null;
    throw new PlaygroundError(
      body?.error?.message ?? `The gateway answered ${res.status}.`,
      res.status,
      body?.error?.code ?? null,
      requestId,
    );
  }
  const answer: PlaygroundAnswer = {
    requestId,
    provider: res.headers.get("x-tollgate-provider"),
    modelServed: res.headers.get("x-tollgate-model"),
    text: "",
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    firstTokenMs: null,
    totalMs: 0,
  };
  let failure: PlaygroundError | null = null;
  const parser = createParser({
    onEvent(e) {
      if (e.data === "[DONE]") return;
      const chunk = JSON.parse(e.data) as Chunk;
      if (chunk.error) {
        failure = new PlaygroundError(
          chunk.error.message ?? "The stream failed.",
          502,
          chunk.error.code ?? null,
          requestId,
        );
        return;
      }
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        answer.firstTokenMs ??= Math.round(performance.now() - started);
        answer.text += delta;
        onText(delta);
      }
      if (chunk.usage) {
        answer.inputTokens = chunk.usage.prompt_tokens ?? null;
        answer.outputTokens = chunk.usage.completion_tokens ?? null;
      }
      if (chunk.tollgate?.cost_usd) answer.costUsd = chunk.tollgate.cost_usd;
    },
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  parser.feed(decoder.decode());
  if (failure) throw failure;
  answer.totalMs = Math.round(performance.now() - started);
  return answer;
}
