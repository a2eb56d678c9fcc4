/**
 * Canonical (OpenAI-shaped) chat request → Gemini generateContent request:
 * - Tool results need the function *name*: it is recovered from the earlier
 *   assistant tool call with the same id.
 * - JSON schemas are reduced to the OpenAPI subset Gemini accepts.
 * - `reasoning_effort` low/medium/high sets generationConfig.thinkingConfig
 *   (a thinkingBudget, or a thinkingLevel on Gemini 3 and later) with
 *   includeThoughts, so the thoughts come back; assistant reasoning is not
 *   sent back (Gemini takes its own thought signatures only).
 */
import { invalidRequest } from "../../errors.js";
import { parseDataUrl, pdfData } from "../../formats/anthropic-wire.js";
import type { ChatRequest } from "../../types.js";
import { contentText } from "../../types.js";

type Part = Record<string, unknown>;
interface Content {
  role: "user" | "model";
  parts: Part[];
}

const SCHEMA_KEYS = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "anyOf",
  "propertyOrdering",
  "default",
  "items",
  "minimum",
  "maximum",
]);

/** JSON Schema → Gemini's OpenAPI-subset Schema (depth-bounded; input is depth-checked upstream anyway). */
export function toGeminiSchema(s: unknown, depth = 0): unknown {
  if (depth > 64 || !s || typeof s !== "object" || Array.isArray(s)) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
    if (!SCHEMA_KEYS.has(k)) continue;
    if (k === "type" && Array.isArray(v)) {
      const types = v.filter((t) => t !== "null");
      out.type = types[0] ?? "string";
      if (types.length < v.length) out.nullable = true;
    } else if (k === "properties" && v && typeof v === "object") {
      out.properties = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, toGeminiSchema(pv, depth + 1)]));
    } else if (k === "items" || k === "anyOf") {
      out[k] = Array.isArray(v) ? v.map((x) => toGeminiSchema(x, depth + 1)) : toGeminiSchema(v, depth + 1);
    } else out[k] = v;
  }
  return out;
}

function imagePart(url: string): Part {
  const d = parseDataUrl(url);
  if (d) return { inlineData: { mimeType: d.mediaType, data: d.data } };
  const ext = /\.(png|jpe?g|gif|webp)(?:$|\?)/i.exec(url)?.[1]?.toLowerCase();
  const mime = ext === "png" ? "image/png" : ext === "gif" ? "image/gif" : ext === "webp" ? "image/webp" : "image/jpeg";
  return { fileData: { mimeType: mime, fileUri: url } };
}

/** Thinking budgets per reasoning effort (Gemini 2.5). */
export const GEMINI_THINKING_BUDGETS: Readonly<Record<string, number>> = { low: 1024, medium: 8192, high: 24576 };

/**
 * generationConfig.thinkingConfig for a reasoning effort, or undefined (the model's default) for other
 * efforts and for models before Gemini 2.5 (they do not think).
 */
export function thinkingConfigFor(
  effort: string | null | undefined,
  model: string,
): Record<string, unknown> | undefined {
  const e = effort === "xhigh" ? "high" : effort;
  if (e !== "low" && e !== "medium" && e !== "high") return undefined;
  const v = /gemini-(\d+)(?:\.(\d+))?/.exec(model);
  const major = Number(v?.[1] ?? 0);
  // Models before 2.5 do not think; an id without a version (an alias such as gemini-flash-latest) is a current one.
  if (v && (major < 2 || (major === 2 && Number(v[2] ?? 0) < 5))) return undefined;
  // Gemini 3 takes a level instead of a budget; every Gemini 3 model knows low and high.
  if (major >= 3) return { thinkingLevel: e === "low" ? "low" : "high", includeThoughts: true };
  return { thinkingBudget: GEMINI_THINKING_BUDGETS[e], includeThoughts: true };
}

export function toGeminiRequest(req: ChatRequest, model = ""): Record<string, unknown> {
  const system: string[] = [];
  const contents: Content[] = [];
  const names = new Map<string, string>();
  const push = (role: Content["role"], parts: Part[]) => {
    if (!parts.length) return;
    const prev = contents[contents.length - 1];
    if (prev && prev.role === role) prev.parts.push(...parts);
    else contents.push({ role, parts });
  };
  req.messages.forEach((m, i) => {
    if (m.role === "system" || m.role === "developer") system.push(contentText(m.content));
    else if (m.role === "user") {
      if (typeof m.content === "string") {
        push("user", [{ text: m.content }]);
        return;
      }
      push(
        "user",
        m.content.map((p) => {
          if (p.type === "text") return { text: p.text };
          if (p.type === "image_url") return imagePart(p.image_url.url);
          const pdf = p.type === "file" ? pdfData(p) : undefined;
          if (pdf) return { inlineData: { mimeType: "application/pdf", data: pdf } };
          throw invalidRequest(
            "unsupported_content",
            `Content part type "${p.type}" is not supported by this provider.`,
            `messages[${i}].content`,
          );
        }),
      );
    } else if (m.role === "assistant") {
      const parts: Part[] = [];
      const text = contentText(m.content);
      if (text) parts.push({ text });
      for (const tc of m.tool_calls ?? []) {
        names.set(tc.id, tc.function.name);
        let args: unknown;
        try {
          args = tc.function.arguments ? JSON.parse(tc.function.arguments) : {};
        } catch {
          throw invalidRequest(
            "invalid_tool_arguments",
            "Tool call arguments must be valid JSON.",
            `messages[${i}].tool_calls`,
          );
        }
        parts.push({ functionCall: { name: tc.function.name, args } });
      }
      push("model", parts);
    } else if (m.role === "tool") {
      const name = names.get(m.tool_call_id);
      if (!name)
        throw invalidRequest(
          "unknown_tool_call",
          "A tool message refers to a tool call id that no assistant message made.",
          `messages[${i}].tool_call_id`,
        );
      const text = contentText(m.content);
      let response: unknown;
      try {
        response = JSON.parse(text);
      } catch {
        response = undefined;
      }
      if (!response || typeof response !== "object" || Array.isArray(response)) response = { content: text };
      push("user", [{ functionResponse: { name, response } }]);
    }
  });

  const body: Record<string, unknown> = { contents };
  const sys = system.filter(Boolean).join("\n\n");
  if (sys) body.systemInstruction = { parts: [{ text: sys }] };
  if (req.tools?.length) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => {
          const params = t.function.parameters;
          const hasProps =
            params && typeof params.properties === "object" && Object.keys(params.properties as object).length > 0;
          return {
            name: t.function.name,
            ...(t.function.description ? { description: t.function.description } : {}),
            ...(hasProps ? { parameters: toGeminiSchema(params) } : {}),
          };
        }),
      },
    ];
    const tc = req.tool_choice;
    const mode = tc === "none" ? "NONE" : tc === "required" || typeof tc === "object" ? "ANY" : "AUTO";
    body.toolConfig = {
      functionCallingConfig: { mode, ...(typeof tc === "object" ? { allowedFunctionNames: [tc.function.name] } : {}) },
    };
  }
  const g: Record<string, unknown> = {};
  if (req.temperature != null) g.temperature = req.temperature;
  if (req.top_p != null) g.topP = req.top_p;
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) g.maxOutputTokens = max;
  const stop = typeof req.stop === "string" ? [req.stop] : (req.stop ?? []);
  if (stop.length) g.stopSequences = stop;
  if (req.n != null && req.n > 1) g.candidateCount = req.n;
  if (req.seed != null) g.seed = req.seed;
  if (req.presence_penalty != null) g.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) g.frequencyPenalty = req.frequency_penalty;
  const rf = req.response_format;
  if (rf?.type === "json_object" || rf?.type === "json_schema") {
    g.responseMimeType = "application/json";
    if (rf.type === "json_schema" && rf.json_schema.schema) g.responseSchema = toGeminiSchema(rf.json_schema.schema);
  }
  const thinking = thinkingConfigFor(req.reasoning_effort, model);
  if (thinking) g.thinkingConfig = thinking;
  if (Object.keys(g).length) body.generationConfig = g;
  return body;
}
