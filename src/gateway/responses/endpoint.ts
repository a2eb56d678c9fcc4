/**
 * The Responses API on the gateway:
 *   POST /v1/responses — a chat call (endpoints/chat.ts: policies, routing,
 *     fallbacks, credits, the log) with the request translated from, and the
 *     answer rendered as, the Responses API (request.ts, response.ts); stored
 *     before it is sent unless `store: false`, so a client may chain on it at
 *     once with `previous_response_id`.
 *   GET /v1/responses/{id}, DELETE /v1/responses/{id} — the project's stored
 *     responses; GET /v1/responses/{id}/input_items — a stored response's
 *     input as it was sent (after the input policy).
 */
import type { GatewayCall } from "../call.js";
import { type EndpointRuntime, serveChat } from "../endpoints/chat.js";
import { GatewayError, openaiErrorBody } from "../errors.js";
import type { Exchange } from "../exchange.js";
import type { Route } from "../front-routes.js";
import type { InboundFormat } from "../inbound/format.js";
import { type ChatMessage, usageFromOpenAI } from "../types.js";
import { inputItems, inputItemsPage, withItemIds } from "./input-items.js";
import { responsesNative } from "./native.js";
import { replayItems, turnMessages } from "./native-request.js";
import { checkResponsesRequest, toChatRequest } from "./request.js";
import { responsesSchema } from "./schema.js";
import {
  fromChat,
  ItemIds,
  outputMessage,
  type ResponseEvent,
  ResponsesStreamTranslator,
  responseShell,
} from "./response.js";
import type { ResponseStore, StoredTurnBody } from "./store.js";
import type { ResponseObject } from "./wire.js";

const TAG = "OpenAI API";
const frames = (events: ResponseEvent[]) => events.map((e) => ({ event: e.type, data: e as unknown }));
const notFound = (id: string) => new GatewayError("response_not_found", `No response with id '${id}' was found.`);

/** A stored conversation in both shapes: chat messages (translated targets) and input items (OpenAI's own API). */
function conversationOf(turns: readonly StoredTurnBody[]): { messages: ChatMessage[]; items: unknown[] } {
  const messages: ChatMessage[] = [];
  const items: unknown[] = [];
  for (const turn of turns) {
    const output = turn.response.output as unknown[];
    if (turn.items) messages.push(...turnMessages(turn.items, output));
    else messages.push(...(turn.input ?? []), outputMessage(turn.response.output));
    items.push(...replayItems([...(turn.items ?? inputItems(turn.input ?? [], turn.response.id)), ...output]));
  }
  return { messages, items };
}

async function serveResponse(call: GatewayCall, rt: EndpointRuntime, store: ResponseStore): Promise<void> {
  const body = checkResponsesRequest(call.x.body);
  const previousId = body.previous_response_id ?? null;
  let previous: { messages: ChatMessage[]; items: unknown[] } = { messages: [], items: [] };
  if (previousId) {
    const found = await store.conversation(call.orgId, call.projectId, previousId);
    if (!found)
      throw new GatewayError(
        "previous_response_not_found",
        `Previous response with id '${previousId}' not found (it, or an earlier turn of its conversation, was deleted, expired or belongs to another project). Send the conversation as input items instead.`,
        { param: "previous_response_id" },
      );
    previous = conversationOf(found);
  }
  const hex = call.requestId.replace(/-/g, "");
  const id = `resp_${hex}`;
  const ids = new ItemIds(hex);
  const createdAt = Math.floor(call.startedAt.getTime() / 1000);
  /** Messages in front of this turn's input: the instructions, then the earlier turns. */
  const before = (typeof body.instructions === "string" && body.instructions ? 1 : 0) + previous.messages.length;
  let answer: ResponseObject | null = null;
  /** This turn's input items, when OpenAI served it natively. */
  let nativeItems: unknown[] | null = null;

  const inbound: InboundFormat = {
    toCanonical: () => toChatRequest(body, previous.messages),
    renderResponse(res, model) {
      answer = fromChat(responseShell(body, id, model, createdAt), res, usageFromOpenAI(res.usage), ids);
      return answer;
    },
    streamRenderer(model) {
      const t = new ResponsesStreamTranslator(responseShell(body, id, model, createdAt), ids);
      return {
        chunk: (c) => frames(t.push(c)),
        finish(usage, extra) {
          const end = t.end(usage, extra);
          answer = end.response;
          return frames(end.events);
        },
        error: (e) => frames(t.fail(e.code, e.message, e.param)),
      };
    },
    errorBody: openaiErrorBody,
    native: responsesNative({
      body,
      previous: previous.messages,
      replayed: previous.items,
      target: {
        id,
        store: body.store !== false,
        previousResponseId: previousId,
        clientWantsEncrypted: Array.isArray(body.include) && body.include.includes("reasoning.encrypted_content"),
        maxToolCalls: typeof body.max_tool_calls === "number" ? body.max_tool_calls : null,
      },
      answered(stored, items) {
        answer = stored as unknown as ResponseObject;
        nativeItems = items;
      },
    }),
    async completed(sent) {
      if (body.store === false || !answer) return;
      // The input as the policy left it (what was sent upstream), never as the client wrote it.
      const input = nativeItems ? { items: nativeItems } : { input: sent.messages.slice(before) };
      await store
        .save({
          id,
          orgId: call.orgId,
          projectId: call.projectId,
          keyId: call.keyId,
          previousId,
          createdAt: call.startedAt,
          ...input,
          response: answer,
        })
        .catch((err) => call.x.log.error({ err, reqId: call.requestId }, "the response could not be stored"));
    },
  };
  await serveChat(call, inbound, rt);
}

export function responsesRoutes(store: ResponseStore, rt: EndpointRuntime): Route[] {
  /** A plain route on one stored response of the key's project: 404 `response_not_found` when there is none. */
  const onStored = (
    method: "GET" | "DELETE",
    path: string,
    summary: string,
    answer: (x: Exchange, id: string, found: StoredTurnBody) => Promise<void> | void,
  ): Route => ({
    kind: "plain",
    method,
    path,
    doc: { summary, tag: TAG },
    errorBody: openaiErrorBody,
    async answer(x, caller, id) {
      const found = await store.find(caller.orgId, caller.projectId, id!);
      if (!found) throw notFound(id!);
      await answer(x, id!, found);
    },
  });
  return [
    {
      kind: "call",
      method: "POST",
      path: "/v1/responses",
      endpoint: "responses",
      doc: { summary: "Create a model response (Responses API) with any provider", tag: TAG, body: responsesSchema },
      errorBody: openaiErrorBody,
      serve: (call) => serveResponse(call, rt, store),
    },
    onStored("GET", "/v1/responses/{id}", "Get a stored response of this project", (x, _id, found) =>
      x.sendJson(200, found.response),
    ),
    onStored("GET", "/v1/responses/{id}/input_items", "List the input items of a stored response", (x, id, found) => {
      const query = new URL(x.req.url ?? "", "http://x").searchParams;
      const items = found.items ? withItemIds(found.items, id) : inputItems(found.input ?? [], id);
      x.sendJson(200, inputItemsPage(items, query));
    }),
    {
      kind: "plain",
      method: "DELETE",
      path: "/v1/responses/{id}",
      doc: { summary: "Delete a stored response of this project", tag: TAG },
      errorBody: openaiErrorBody,
      async answer(x, caller, id) {
        if (!(await store.remove(caller.orgId, caller.projectId, id!))) throw notFound(id!);
        x.sendJson(200, { id, object: "response", deleted: true });
      },
    },
  ];
}
