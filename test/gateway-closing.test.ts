/**
 * Shutdown step 2 (main.ts) on the gateway's own front: once the server
 * closes, a new gateway request on a keep-alive connection that was still busy
 * gets 503 `server_shutting_down` and `Connection: close` (the request running
 * at that moment finishes normally).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg } from "./helpers/fixtures.js";

describe(`gateway requests while the server closes (${storageKind})`, () => {
  let t: TestApp;
  let port: number;
  let key: string;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    port = (t.app.server.server.address() as { port: number }).port;
    const owner = await t.signUp();
    const org = (await createOrg(owner)).slug;
    expect((await owner.post(`/api/v1/orgs/${org}/projects`, { name: "Closing", slug: "closing" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${org}/projects/closing/keys`, { name: "k", environment: "test" })).body.key;
  });
  afterAll(async () => {
    await t.close().catch(() => undefined);
  });

  const request = (body: object) => {
    const text = JSON.stringify(body);
    return `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
  };

  it("a request on a busy keep-alive connection after close() gets 503 server_shutting_down and Connection: close", async () => {
    const socket = connect(port, "127.0.0.1");
    let buf = "";
    let closing: Promise<unknown> | null = null;
    const second = new Promise<string>((resolve, reject) => {
      socket.on("data", (d) => {
        buf += d.toString("latin1");
        // The stream is running: the server starts closing now.
        closing ??= t.app.server.close();
        // The last chunk, then the trailers (the cost), then the blank line.
        const end = buf.search(/\r\n0\r\n(?:[^\r\n]+\r\n)*\r\n/);
        if (end !== -1 && !buf.startsWith("SECOND")) {
          expect(buf).toMatch(/^HTTP\/1\.1 200/);
          expect(buf).toContain("data: [DONE]");
          buf = "SECOND";
          socket.write(request({ model: "mock/echo", messages: [{ role: "user", content: "one more" }] }));
        }
      });
      socket.on("close", () => resolve(buf.slice("SECOND".length)));
      socket.on("error", reject);
    });
    socket.write(
      request({ model: "mock/lorem", max_tokens: 8, stream: true, messages: [{ role: "user", content: "go" }] }),
    );
    const res = await second;
    expect(res).toMatch(/^HTTP\/1\.1 503/);
    expect(res.toLowerCase()).toContain("connection: close");
    expect(res.toLowerCase()).toContain("retry-after: 1");
    const body = JSON.parse(res.slice(res.indexOf("\r\n\r\n") + 4)) as { error: { code: string; type: string } };
    expect(body.error.code).toBe("server_shutting_down");
    await closing;
  });
});
