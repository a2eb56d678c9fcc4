/**
 * A fast local mock of the OpenAI (chat completions, Responses) and Anthropic HTTP APIs for benchmarks: fixed
 * answers, optional SSE streaming in each provider's real event format, and
 * usage. Listens on 127.0.0.1 only. Run: `npx tsx bench/mock-upstream.ts [port]`.
 */
import http from "node:http";

const STREAM_CHUNKS = 20;
const words = "The quick brown fox jumps over the lazy dog and keeps running through the field".split(" ");

function openaiResponse(model: string) {
  return JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: words.join(" ") }, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length },
  });
}

function openaiStream(res: http.ServerResponse, model: string) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const created = Math.floor(Date.now() / 1000);
  for (let i = 0; i < STREAM_CHUNKS; i++) {
    const delta = i === 0 ? { role: "assistant", content: "" } : { content: `${words[i % words.length] ?? "x"} ` };
    res.write(
      `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`,
    );
  }
  res.write(
    `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`,
  );
  res.write(
    `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, choices: [], usage: { prompt_tokens: 12, completion_tokens: STREAM_CHUNKS, total_tokens: 12 + STREAM_CHUNKS } })}\n\n`,
  );
  res.end("data: [DONE]\n\n");
}

/** A Responses API answer (OpenAI's own), whole or as its typed events. */
function responsesObject(model: string, status: string, text: string | null) {
  return {
    id: "resp_bench",
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output:
      text === null
        ? []
        : [
            {
              type: "message",
              id: "msg_bench",
              status: "completed",
              role: "assistant",
              content: [{ type: "output_text", text, annotations: [] }],
            },
          ],
    usage:
      text === null
        ? null
        : {
            input_tokens: 12,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: words.length,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: 12 + words.length,
          },
  };
}

function responsesStream(res: http.ServerResponse, model: string) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let seq = 0;
  const send = (e: Record<string, unknown>) =>
    res.write(`event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: seq++ })}\n\n`);
  const at = { item_id: "msg_bench", output_index: 0, content_index: 0 };
  send({ type: "response.created", response: responsesObject(model, "in_progress", null) });
  send({
    type: "response.output_item.added",
    output_index: 0,
    item: { type: "message", id: "msg_bench", status: "in_progress", role: "assistant", content: [] },
  });
  send({ type: "response.content_part.added", ...at, part: { type: "output_text", text: "", annotations: [] } });
  let text = "";
  for (let i = 1; i < STREAM_CHUNKS; i++) {
    const delta = `${words[i % words.length] ?? "x"} `;
    text += delta;
    send({ type: "response.output_text.delta", ...at, delta });
  }
  const done = responsesObject(model, "completed", text);
  const part = { type: "output_text", text, annotations: [] };
  send({ type: "response.output_text.done", ...at, text });
  send({ type: "response.content_part.done", ...at, part });
  send({ type: "response.output_item.done", output_index: 0, item: done.output[0] });
  send({ type: "response.completed", response: done });
  res.end();
}

function anthropicResponse(model: string) {
  return JSON.stringify({
    id: "msg_bench",
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text: words.join(" ") }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: words.length },
  });
}

export function startMockUpstream(port = 0): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: { model?: string; stream?: boolean } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      } catch {
        res.writeHead(400).end();
        return;
      }
      const model = body.model ?? "bench-model";
      if (req.url?.startsWith("/v1/chat/completions")) {
        if (body.stream) return openaiStream(res, model);
        const out = openaiResponse(model);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
        return;
      }
      if (req.url?.startsWith("/v1/responses")) {
        if (body.stream) return responsesStream(res, model);
        const out = JSON.stringify(responsesObject(model, "completed", words.join(" ")));
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
        return;
      }
      if (req.url?.startsWith("/v1/messages")) {
        const out = anthropicResponse(model);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found"}}');
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startMockUpstream(Number(process.argv[2] ?? 0));
  console.log(`mock upstream on http://127.0.0.1:${(server.address() as { port: number }).port}`);
}
