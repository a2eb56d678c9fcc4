/**
 * A faithful local fake of the Gemini API subset Tollgate uses:
 * POST /v1beta/models/{model}:generateContent, :streamGenerateContent?alt=sse
 * (each event a partial GenerateContentResponse, CRLF-separated as Google
 * sends them, the last carrying finishReason and full usageMetadata),
 * :batchEmbedContents and :countTokens (a deterministic count). Auth by
 * `x-goog-api-key` (or `?key=`, which the fake records so tests can prove the
 * adapter never uses it). Rejects schema
 * keywords Gemini's OpenAPI subset does not know. Errors use
 * `{"error":{code,message,status}}`. generationConfig.thinkingConfig is
 * checked (a budget or a level, not both; a level on Gemini 3 models only);
 * with includeThoughts the answer starts with a `thought: true` part, counted
 * in thoughtsTokenCount.
 */
import { startFake, type FakeServer } from "./base.js";
import { pieces, planReply, type View } from "./script.js";

const STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};
export const geminiError = (code: number, message: string) => ({
  error: { code, message, status: STATUS[code] ?? "UNKNOWN" },
});

const FORBIDDEN_SCHEMA_KEYS = ["additionalProperties", "$schema", "strict", "$ref"];
function badSchemaKey(s: any, depth = 0): string | undefined {
  if (!s || typeof s !== "object" || depth > 50) return undefined;
  for (const [k, v] of Object.entries(s)) {
    if (FORBIDDEN_SCHEMA_KEYS.includes(k)) return k;
    const inner = badSchemaKey(v, depth + 1);
    if (inner) return inner;
  }
  return undefined;
}

function validate(b: any): string | undefined {
  if (!Array.isArray(b?.contents) || !b.contents.length)
    return "* GenerateContentRequest.contents: contents is not specified";
  const called = new Set<string>();
  for (const [i, c] of b.contents.entries()) {
    if (c.role !== "user" && c.role !== "model") return `Please use a valid role: user, model. (contents[${i}])`;
    if (!Array.isArray(c.parts) || !c.parts.length)
      return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`;
    for (const p of c.parts) {
      if (p.functionCall) called.add(p.functionCall.name);
      if (p.functionResponse && !called.has(p.functionResponse.name))
        return "function response turn comes without a function call turn";
    }
  }
  for (const t of b.tools ?? [])
    for (const f of t.functionDeclarations ?? []) {
      const bad = badSchemaKey(f.parameters);
      if (bad)
        return `Invalid JSON payload received. Unknown name "${bad}" at 'tools[0].function_declarations[0].parameters'`;
    }
  const thinking = b.generationConfig?.thinkingConfig;
  if (thinking?.thinkingBudget !== undefined && thinking?.thinkingLevel !== undefined)
    return "You can only set either thinking budget or thinking level, not both.";
  const bad = badSchemaKey(b.generationConfig?.responseSchema);
  if (bad) return `Invalid JSON payload received. Unknown name "${bad}" at 'generation_config.response_schema'`;
  return undefined;
}

const textOf = (parts: any[]) =>
  parts
    .filter((p) => typeof p.text === "string")
    .map((p) => p.text)
    .join("");

export function viewFromGemini(b: any): View {
  const contents: any[] = b.contents;
  const system = textOf(b.systemInstruction?.parts ?? []);
  const users = contents.filter((c) => c.role === "user" && c.parts.some((p: any) => !p.functionResponse));
  const last = contents[contents.length - 1];
  const toolResults = last.parts
    .filter((p: any) => p.functionResponse)
    .map((p: any) => {
      const r = p.functionResponse.response;
      return typeof r?.content === "string" ? r.content : JSON.stringify(r);
    });
  let image: string | undefined;
  for (const c of users) for (const p of c.parts) image ??= p.inlineData?.mimeType ?? p.fileData?.fileUri;
  const fc = b.toolConfig?.functionCallingConfig;
  const tools = (b.tools ?? [])
    .flatMap((t: any) => t.functionDeclarations ?? [])
    .map((f: any) => ({ name: f.name, schema: f.parameters }));
  const g = b.generationConfig ?? {};
  return {
    system,
    userTurns: users.length,
    lastUserText: users.length ? textOf(users[users.length - 1].parts) : "",
    toolResults,
    tools,
    toolChoice:
      !fc || fc.mode === "AUTO"
        ? "auto"
        : fc.mode === "NONE"
          ? "none"
          : fc.allowedFunctionNames?.length === 1
            ? { name: fc.allowedFunctionNames[0] }
            : "required",
    parallel: true,
    wantsJson: g.responseMimeType === "application/json",
    image,
    stop: g.stopSequences ?? [],
    maxTokens: g.maxOutputTokens,
    totalChars: system.length + contents.reduce((s, c) => s + textOf(c.parts).length, 0),
  };
}

/** The fake's token count: one per character of system and content text, 2 per content, 40 per function. */
const geminiFakeCount = (g: any): number =>
  viewFromGemini(g).totalChars + 2 * g.contents.length + 40 * viewFromGemini(g).tools.length;

/** :countTokens — `contents`, or a whole `generateContentRequest` (its model must be the path's). */
function countTokens(json: (status: number, body: unknown) => void, b: any, model: string) {
  const g = b?.generateContentRequest ?? (b?.contents ? { contents: b.contents } : undefined);
  if (g && b.contents && b.generateContentRequest)
    return json(400, geminiError(400, "contents and generateContentRequest are mutually exclusive"));
  if (b?.generateContentRequest && g.model !== `models/${model}`)
    return json(400, geminiError(400, "generateContentRequest.model must match the path"));
  const problem = validate(g);
  if (problem) return json(400, geminiError(400, problem));
  json(200, {
    totalTokens: geminiFakeCount(g),
    promptTokensDetails: [{ modality: "TEXT", tokenCount: geminiFakeCount(g) }],
  });
}

export interface GeminiFakeOptions {
  apiKey?: string;
  /** The usageMetadata to report instead of the planned one (read per request; streams send it last). */
  usage?: Record<string, unknown>;
}

export function startGeminiFake(o: GeminiFakeOptions = {}): Promise<FakeServer> {
  return startFake(async (ctx) => {
    const { req, body } = ctx;
    const url = new URL(req.url ?? "/", "http://fake");
    const key = req.headers["x-goog-api-key"] ?? url.searchParams.get("key");
    if (o.apiKey !== undefined && key !== o.apiKey) {
      return ctx.json(400, geminiError(400, "API key not valid. Please pass a valid API key."));
    }
    const m =
      /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents|countTokens)$/.exec(
        ctx.path,
      );
    if (!m) return ctx.json(404, geminiError(404, `Method not found: ${ctx.path}`));
    const model = decodeURIComponent(m[1]!);
    if (m[2] === "countTokens") return countTokens(ctx.json, body, model);
    if (m[2] === "batchEmbedContents") {
      const reqs: any[] = body?.requests ?? [];
      return ctx.json(200, {
        embeddings: reqs.map((r) => {
          const t = textOf(r.content?.parts ?? []);
          return { values: Array.from({ length: r.outputDimensionality ?? 8 }, (_, d) => ((t.length + d) % 10) / 10) };
        }),
      });
    }
    const problem = validate(body);
    if (problem) return ctx.json(400, geminiError(400, problem));
    const thinking = body.generationConfig?.thinkingConfig;
    if (thinking?.thinkingLevel !== undefined && !/^gemini-3/.test(model))
      return ctx.json(400, geminiError(400, "Thinking level is not supported for this model."));
    const view = viewFromGemini(body);
    const plan = planReply(view);
    const thought = thinking?.includeThoughts ? `Thinking about: ${view.lastUserText || "the tool results"}` : "";
    const thoughtParts = thought ? [{ text: thought, thought: true }] : [];
    const n = body.generationConfig?.candidateCount ?? 1;
    const finishReason = plan.finish === "length" ? "MAX_TOKENS" : "STOP";
    const usageMetadata: Record<string, unknown> = o.usage ?? {
      promptTokenCount: plan.usage.input,
      candidatesTokenCount: plan.usage.output,
      totalTokenCount: plan.usage.input + plan.usage.output + (thought ? thought.split(" ").length : 0),
      ...(thought ? { thoughtsTokenCount: thought.split(" ").length } : {}),
      ...(plan.usage.cached ? { cachedContentTokenCount: plan.usage.cached } : {}),
      promptTokensDetails: [{ modality: "TEXT", tokenCount: plan.usage.input }],
    };
    const callParts = plan.toolCalls.map((t) => ({ functionCall: { name: t.name, args: t.args } }));
    const cand = (parts: any[], finish?: string) =>
      Array.from({ length: n }, (_, index) => ({
        content: { role: "model", parts },
        ...(finish ? { finishReason: finish } : {}),
        index,
      }));
    const meta = { modelVersion: model, responseId: "fakeResp01" };
    if (m[2] === "generateContent") {
      return ctx.json(200, {
        candidates: cand([...thoughtParts, ...(callParts.length ? callParts : [{ text: plan.text }])], finishReason),
        usageMetadata,
        ...meta,
      });
    }
    if (url.searchParams.get("alt") !== "sse")
      return ctx.json(400, geminiError(400, "this fake only streams with alt=sse"));
    const ev = (x: object) => `data: ${JSON.stringify(x)}\r\n\r\n`;
    const events: string[] = [];
    const prompt = usageMetadata.promptTokenCount;
    const partial = { promptTokenCount: prompt, totalTokenCount: prompt };
    if (thought) events.push(ev({ candidates: cand(thoughtParts), usageMetadata: partial, ...meta }));
    if (callParts.length) events.push(ev({ candidates: cand(callParts, finishReason), usageMetadata, ...meta }));
    else {
      const ps = pieces(plan.text);
      ps.forEach((p, i) => {
        const lastOne = i === ps.length - 1;
        events.push(
          ev({
            candidates: cand([{ text: p }], lastOne ? finishReason : undefined),
            usageMetadata: lastOne ? usageMetadata : partial,
            ...meta,
          }),
        );
      });
    }
    await ctx.sse(events);
  }, geminiError);
}
