/**
 * A faithful local fake of Azure OpenAI's data plane as Tollgate calls it:
 * POST /openai/deployments/{deployment}/chat/completions and …/embeddings.
 * - `?api-version=` is required (400 BadRequest without it, 400 for a version
 *   Azure does not serve; stream_options only from 2024-09-01-preview on);
 * - the key goes in the `api-key` header (401 with Azure's body otherwise; an
 *   `Authorization` header is not read);
 * - deployments are the resource's (404 DeploymentNotFound for another one);
 *   answers name the deployment's model ("gpt-4o-2024-08-06"), and an
 *   embeddings deployment does not chat, nor a chat deployment embed;
 * - chat as Azure answers it: OpenAI's shape plus prompt_filter_results and
 *   per-choice content_filter_results; a stream opens with a chunk without
 *   choices (the prompt filter results), then OpenAI's chunks (tool-call
 *   deltas included), the usage-only chunk when stream_options.include_usage,
 *   and `data: [DONE]`;
 * - content filtering: a prompt containing "FILTER-ME" is refused with Azure's
 *   400 `content_filter`; one containing "FILTER-OUTPUT" is answered with
 *   `finish_reason: "content_filter"` and the text cut;
 * - `rateLimit(seconds, times)` answers 429 with Azure's quota message and
 *   Retry-After; the base faults (hang, reset…) apply as for the other fakes.
 * Every usage object the fake sent is kept in `reported`, in order.
 */
import { startFake, sseData, type FakeServer } from "./base.js";
import { viewFromOpenAI } from "./openai-fake.js";
import { fragments, pieces, planReply } from "./script.js";

export interface AzureFakeOptions {
  apiKey: string;
  /** Deployment name → the model it runs (e.g. "my-gpt4o" → "gpt-4o-2024-08-06"). */
  deployments: Record<string, string>;
}

export type AzureFake = FakeServer & {
  /** The usage objects the fake reported, in order (chat and embeddings). */
  reported: Array<Record<string, any>>;
  /** The next `times` requests answer 429 with Retry-After `seconds`, as Azure's quota does. */
  rateLimit(seconds: number, times: number): void;
};

const GA_VERSIONS = new Set(["2024-02-01", "2024-06-01", "2024-10-21"]);
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

const azureError = (status: number, message: string, code = String(status)) => ({ error: { code, message } });

const ACCESS_DENIED =
  "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";

const SAFE = { filtered: false, severity: "safe" };
const filterResults = (violence = SAFE) => ({ hate: SAFE, self_harm: SAFE, sexual: SAFE, violence });
const promptFilter = [{ prompt_index: 0, content_filter_results: filterResults() }];

function contentFilterRefusal() {
  return {
    error: {
      message:
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
      type: null,
      param: "prompt",
      code: "content_filter",
      status: 400,
      innererror: {
        code: "ResponsibleAIPolicyViolation",
        content_filter_result: {
          ...filterResults({ filtered: true, severity: "medium" }),
          jailbreak: { filtered: false, detected: false },
        },
      },
    },
  };
}

const lastUserText = (body: any): string => {
  const users = (body?.messages ?? []).filter((m: any) => m.role === "user");
  const c = users[users.length - 1]?.content;
  return typeof c === "string" ? c : Array.isArray(c) ? c.map((p: any) => p?.text ?? "").join("") : "";
};

export async function startAzureFake(o: AzureFakeOptions): Promise<AzureFake> {
  const reported: Array<Record<string, any>> = [];
  const server = await startFake(async (ctx) => {
    const { req, body } = ctx;
    const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(ctx.path);
    if (req.method !== "POST" || !m) return ctx.json(404, azureError(404, "Resource not found"));
    const version = new URL(req.url ?? "/", "http://fake").searchParams.get("api-version");
    if (!version) return ctx.json(400, azureError(400, "Missing required query parameter: api-version", "BadRequest"));
    if (!API_VERSION.test(version) || (!version.endsWith("-preview") && !GA_VERSIONS.has(version)))
      return ctx.json(400, azureError(400, "API version not supported", "BadRequest"));
    if (req.headers["api-key"] !== o.apiKey) return ctx.json(401, azureError(401, ACCESS_DENIED));
    const deployment = decodeURIComponent(m[1]!);
    const model = o.deployments[deployment];
    if (!model)
      return ctx.json(
        404,
        azureError(
          404,
          "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
          "DeploymentNotFound",
        ),
      );
    const embeds = /embedding/.test(model);
    const operation = m[2] === "embeddings" ? "embeddings" : "chatCompletion";
    if (embeds !== (operation === "embeddings"))
      return ctx.json(
        400,
        azureError(
          400,
          `The ${operation} operation does not work with the specified model, ${model}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.`,
          "OperationNotSupported",
        ),
      );

    if (operation === "embeddings") {
      const inputs: unknown[] = typeof body?.input === "string" ? [body.input] : (body?.input ?? []);
      const data = inputs.map((inp, index) => ({
        object: "embedding",
        index,
        embedding: Array.from({ length: body?.dimensions ?? 8 }, (_, d) => ((String(inp).length + d) % 10) / 10),
      }));
      const tokens = inputs.reduce<number>((s, x) => s + Math.ceil(String(x).length / 4), 0);
      const usage = { prompt_tokens: tokens, total_tokens: tokens };
      reported.push(usage);
      return ctx.json(200, { object: "list", data, model, usage });
    }

    if (!Array.isArray(body?.messages) || body.messages.length === 0)
      return ctx.json(400, azureError(400, "'messages' is a required property", "BadRequest"));
    if (body.stream_options && version < "2024-09-01")
      return ctx.json(400, azureError(400, "Unrecognized request argument supplied: stream_options", "BadRequest"));
    const prompt = lastUserText(body);
    if (prompt.includes("FILTER-ME")) return ctx.json(400, contentFilterRefusal());

    const plan = planReply(viewFromOpenAI(body), "call_az");
    const filtered = prompt.includes("FILTER-OUTPUT");
    const text = filtered ? plan.text.split(" ").slice(0, 2).join(" ") : plan.text;
    const finish = filtered ? "content_filter" : plan.finish === "stop_sequence" ? "stop" : plan.finish;
    const choiceFilter = filtered ? filterResults({ filtered: true, severity: "high" }) : filterResults();
    const usage = {
      prompt_tokens: plan.usage.input,
      completion_tokens: plan.usage.output,
      total_tokens: plan.usage.input + plan.usage.output,
      prompt_tokens_details: { cached_tokens: plan.usage.cached, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const toolCalls = plan.toolCalls.map((t) => ({
      id: t.id,
      type: "function",
      function: { name: t.name, arguments: JSON.stringify(t.args) },
    }));
    const base = { id: "chatcmpl-azure1", created: 1_700_000_000, model, system_fingerprint: "fp_azure" };
    if (!body.stream) {
      reported.push(usage);
      return ctx.json(200, {
        ...base,
        object: "chat.completion",
        prompt_filter_results: promptFilter,
        choices: [
          {
            index: 0,
            content_filter_results: choiceFilter,
            finish_reason: finish,
            logprobs: null,
            message: {
              role: "assistant",
              content: toolCalls.length ? null : text,
              refusal: null,
              ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
            },
          },
        ],
        usage,
      });
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: object, finish_reason: string | null = null, filter: object = {}) =>
      sseData({
        ...base,
        object: "chat.completion.chunk",
        choices: [{ index: 0, content_filter_results: filter, delta, finish_reason, logprobs: null }],
        ...(includeUsage ? { usage: null } : {}),
      });
    const events = [
      sseData({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: promptFilter }),
      chunk({ role: "assistant", content: "", refusal: null }),
    ];
    if (!toolCalls.length) for (const p of pieces(text)) events.push(chunk({ content: p }, null, filterResults()));
    toolCalls.forEach((tc, index) => {
      events.push(
        chunk({
          tool_calls: [{ index, id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } }],
        }),
      );
      for (const f of fragments(tc.function.arguments))
        events.push(chunk({ tool_calls: [{ index, function: { arguments: f } }] }));
    });
    events.push(chunk({}, finish, filtered ? choiceFilter : {}));
    if (includeUsage) {
      reported.push(usage);
      events.push(sseData({ ...base, object: "chat.completion.chunk", choices: [], usage }));
    }
    events.push(sseData("[DONE]"));
    await ctx.sse(events);
  }, azureError);
  return Object.assign(server, {
    reported,
    rateLimit(seconds: number, times: number) {
      server.setFault(
        {
          type: "status",
          status: 429,
          retryAfter: String(seconds),
          message: `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after ${seconds} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
        },
        times,
      );
    },
  });
}
