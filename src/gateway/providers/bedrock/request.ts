/**
 * Canonical (OpenAI-shaped) chat request → Bedrock Converse request:
 * - System/developer messages become `system` text blocks; tool results become
 *   `toolResult` blocks in a user turn (JSON objects as `json`, anything else as
 *   `text`); consecutive same-role turns are merged (Converse requires
 *   alternation, and a conversation that opens with the assistant is refused).
 * - Images and PDFs travel as bytes (base64 in JSON, as the API takes blobs)
 *   from data: URLs; an image by http(s) URL is refused (Converse reads bytes
 *   or S3 only, and the gateway does not fetch URLs on a client's behalf).
 * - max_tokens, temperature, top_p and stop become `inferenceConfig`; tools
 *   become `toolConfig.tools[].toolSpec` with `inputSchema.json`; tool_choice
 *   auto/required/named → `{auto}`/`{any}`/`{tool:{name}}`. Converse has no
 *   "none": the tools are left out then, unless the conversation already holds
 *   tool blocks (Converse requires toolConfig with them), where they stay on auto.
 * - JSON mode asks for JSON in the system prompt (Converse has no response
 *   format); `n` > 1 is refused; penalties and seed are not sent (Converse has none).
 */
import { invalidRequest } from "../../errors.js";
import { parseDataUrl, pdfData } from "../../formats/anthropic-wire.js";
import type { ChatRequest } from "../../types.js";
import { contentText } from "../../types.js";

type Block = Record<string, unknown>;
interface Message {
  role: "user" | "assistant";
  content: Block[];
}

const IMAGE_FORMATS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

function imageBlock(url: string, param: string): Block {
  const d = parseDataUrl(url);
  const format = d ? IMAGE_FORMATS[d.mediaType.toLowerCase()] : undefined;
  if (!d || !format)
    throw invalidRequest(
      "unsupported_content",
      "This provider takes images as base64 data: URLs (PNG, JPEG, GIF or WebP) only.",
      param,
    );
  return { image: { format, source: { bytes: d.data } } };
}

function parseArguments(args: string, param: string): unknown {
  try {
    return args ? JSON.parse(args) : {};
  } catch {
    throw invalidRequest("invalid_tool_arguments", "Tool call arguments must be valid JSON.", param);
  }
}

/** A tool result's content: a JSON object as `json`, anything else as text. */
function toolResultContent(text: string): Block[] {
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return [{ json: v }];
  } catch {
    // plain text
  }
  return [{ text }];
}

export function toConverseRequest(req: ChatRequest): Record<string, unknown> {
  if (req.n != null && req.n > 1)
    throw invalidRequest("unsupported_parameter", "n > 1 is not supported by this provider.", "n");
  const system: string[] = [];
  const messages: Message[] = [];
  let toolBlocks = false;
  const push = (role: Message["role"], blocks: Block[]) => {
    if (!blocks.length) return;
    const prev = messages[messages.length - 1];
    if (prev && prev.role === role) prev.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  req.messages.forEach((m, i) => {
    switch (m.role) {
      case "system":
      case "developer":
        system.push(contentText(m.content));
        break;
      case "user": {
        if (typeof m.content === "string") {
          push("user", [{ text: m.content }]);
          break;
        }
        const param = `messages[${i}].content`;
        push(
          "user",
          m.content.map((p, j): Block => {
            if (p.type === "text") return { text: p.text };
            if (p.type === "image_url") return imageBlock(p.image_url.url, param);
            const pdf = p.type === "file" ? pdfData(p) : undefined;
            if (pdf) return { document: { format: "pdf", name: `document-${i}-${j}`, source: { bytes: pdf } } };
            throw invalidRequest(
              "unsupported_content",
              `Content part type "${p.type}" is not supported by this provider.`,
              param,
            );
          }),
        );
        break;
      }
      case "assistant": {
        const blocks: Block[] = [];
        const text = contentText(m.content);
        if (text) blocks.push({ text });
        for (const tc of m.tool_calls ?? []) {
          toolBlocks = true;
          const input = parseArguments(tc.function.arguments, `messages[${i}].tool_calls`);
          blocks.push({ toolUse: { toolUseId: tc.id, name: tc.function.name, input } });
        }
        push("assistant", blocks);
        break;
      }
      case "tool":
        toolBlocks = true;
        push("user", [
          { toolResult: { toolUseId: m.tool_call_id, content: toolResultContent(contentText(m.content)) } },
        ]);
        break;
    }
  });

  const body: Record<string, unknown> = { messages };
  const rf = req.response_format;
  if (rf && rf.type !== "text") {
    const schema = rf.type === "json_schema" ? rf.json_schema.schema : undefined;
    system.push(`Respond with JSON only${schema ? ` matching this JSON schema: ${JSON.stringify(schema)}` : ""}.`);
  }
  const sys = system.filter(Boolean);
  if (sys.length) body.system = sys.map((text) => ({ text }));

  const inference: Record<string, unknown> = {};
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) inference.maxTokens = max;
  if (req.temperature != null) inference.temperature = req.temperature;
  if (req.top_p != null) inference.topP = req.top_p;
  const stop = typeof req.stop === "string" ? [req.stop] : (req.stop ?? []);
  if (stop.length) inference.stopSequences = stop;
  if (Object.keys(inference).length) body.inferenceConfig = inference;

  const tc = req.tool_choice;
  if (req.tools?.length && (tc !== "none" || toolBlocks)) {
    const toolConfig: Record<string, unknown> = {
      tools: req.tools.map((t) => ({
        toolSpec: {
          name: t.function.name,
          ...(t.function.description ? { description: t.function.description } : {}),
          inputSchema: { json: t.function.parameters ?? { type: "object", properties: {} } },
        },
      })),
    };
    if (tc === "auto") toolConfig.toolChoice = { auto: {} };
    else if (tc === "required") toolConfig.toolChoice = { any: {} };
    else if (tc && typeof tc === "object") toolConfig.toolChoice = { tool: { name: tc.function.name } };
    body.toolConfig = toolConfig;
  }
  return body;
}
