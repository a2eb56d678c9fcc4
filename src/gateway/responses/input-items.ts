/**
 * `GET /v1/responses/{id}/input_items`: a stored turn's input as Responses API
 * items — the messages as they were sent upstream (after the input policy),
 * rendered back: messages with input_text / input_image / input_file parts,
 * an assistant's carried reasoning as a reasoning item, its text as output_text, tool calls as function_call items, tool
 * results as function_call_output items. Paged like OpenAI's list
 * (`order` desc by default, `limit` 1–100, default 20, `after` an item id).
 */
import { invalidRequest } from "../errors.js";
import type { ChatMessage, ContentPart } from "../types.js";
import { contentText } from "../types.js";
import { ANTHROPIC_REASONING } from "./response.js";

type Item = Record<string, unknown> & { id: string };

export function inputItems(messages: readonly ChatMessage[], responseId: string): Item[] {
  const base = responseId.replace(/^resp_/, "");
  const items: Item[] = [];
  const id = (prefix: string) => `${prefix}_${base}_in${items.length}`;
  for (const m of messages) {
    if (m.role === "tool") {
      items.push({
        id: id("fco"),
        type: "function_call_output",
        call_id: m.tool_call_id,
        output: contentText(m.content),
        status: "completed",
      });
      continue;
    }
    if (m.role === "assistant") {
      if (m.reasoning_content)
        items.push({
          id: id("rs"),
          type: "reasoning",
          summary: [{ type: "summary_text", text: m.reasoning_content }],
          ...(m.reasoning_signature ? { encrypted_content: ANTHROPIC_REASONING + m.reasoning_signature } : {}),
        });
      const text = contentText(m.content ?? null);
      if (text)
        items.push({
          id: id("msg"),
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text, annotations: [] }],
        });
      for (const c of m.tool_calls ?? [])
        items.push({
          id: id("fc"),
          type: "function_call",
          call_id: c.id,
          name: c.function.name,
          arguments: c.function.arguments,
          status: "completed",
        });
      continue;
    }
    const parts =
      typeof m.content === "string" ? [{ type: "text" as const, text: m.content }] : (m.content as ContentPart[]);
    items.push({ id: id("msg"), type: "message", role: m.role, status: "completed", content: parts.map(inputPart) });
  }
  return items;
}

function inputPart(p: ContentPart): Record<string, unknown> {
  if (p.type === "text") return { type: "input_text", text: p.text };
  if (p.type === "image_url")
    return { type: "input_image", image_url: p.image_url.url, detail: p.image_url.detail ?? "auto" };
  const file = (p as { file?: { file_data?: string; filename?: string } }).file;
  return {
    type: "input_file",
    ...(file?.file_data ? { file_data: file.file_data } : {}),
    ...(file?.filename ? { filename: file.filename } : {}),
  };
}

/** Input items as sent (a native turn's): each with an id (the client's, else one made like inputItems's). */
export function withItemIds(items: readonly unknown[], responseId: string): Item[] {
  const base = responseId.replace(/^resp_/, "");
  return items.map((item, i) => {
    const o = (item && typeof item === "object" ? item : { value: item }) as Record<string, unknown>;
    if (typeof o.id === "string") return o as Item;
    const type = typeof o.type === "string" ? o.type : "message";
    const prefix =
      type === "message" ? "msg" : type === "function_call_output" ? "fco" : type === "function_call" ? "fc" : "item";
    return { id: `${prefix}_${base}_in${i}`, ...(type === "message" && !o.type ? { type } : {}), ...o };
  });
}

export function inputItemsPage(items: Item[], q: URLSearchParams) {
  const order = q.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc")
    throw invalidRequest("invalid_order", "`order` must be asc or desc.", "order");
  const limitText = q.get("limit") ?? "20";
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100)
    throw invalidRequest("invalid_limit", "`limit` must be an integer from 1 to 100.", "limit");
  const ordered = order === "desc" ? [...items].reverse() : items;
  const after = q.get("after");
  const start = after ? ordered.findIndex((i) => i.id === after) + 1 : 0;
  if (after && start === 0) throw invalidRequest("invalid_after", `No input item with id '${after}'.`, "after");
  const data = ordered.slice(start, start + limit);
  return {
    object: "list" as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: start + limit < ordered.length,
  };
}
