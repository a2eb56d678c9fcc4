/**
 * Images and audio through the official OpenAI SDK against Tollgate on a
 * socket: the mock provider's offline models (image, transcribe, speech) and
 * the built-in OpenAI provider in front of the OpenAI fake, charged at the
 * price library's rates (gpt-image-1 per token, whisper-1 per hour of audio,
 * gpt-4o-mini-tts per token from its streamed usage) to the exact micro-USD;
 * the request log keeps no image or audio bytes.
 */
import net from "node:net";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_SPEECH, type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, team } from "./helpers/fixtures.js";

describe(`images and audio on the gateway (${storageKind})`, () => {
  let t: TestApp;
  let fake: OpenAIFake;
  let base: string;
  let owner: Client;
  let slug: string;
  let client: OpenAI;

  /** One request on a raw socket (the body written in pieces until the server answers or cuts it off). */
  const rawRequest = (head: string, pieces: Buffer[]) =>
    new Promise<{ status: number; body: any }>((resolve) => {
      const s = net.connect(Number(new URL(base).port), "127.0.0.1");
      let data = "";
      const done = () => {
        const at = data.indexOf("\r\n\r\n");
        resolve({ status: Number(data.slice(9, 12)), body: JSON.parse(data.slice(at + 4)) });
      };
      s.on("data", (d) => {
        data += d.toString("utf8");
      });
      s.on("close", done);
      s.on("error", () => undefined);
      s.write(head);
      const next = (i: number) => {
        if (i < pieces.length && !s.destroyed && !data) s.write(pieces[i]!, () => next(i + 1));
      };
      next(0);
    });
  const balance = async () => BigInt((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceMicroUsd);
  const logOf = async (requestId: string | null) => {
    await t.app.flushLogs();
    const r = await owner.get(`/api/v1/orgs/${slug}/projects/media/logs/${requestId}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-oa" });
    t = await startTestApp({ env: { OPENAI_API_KEY: "sk-oa", OPENAI_BASE_URL: `${fake.url}/v1` } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Media Co"));
    const p = await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Media", slug: "media", logBodies: true });
    expect(p.status).toBe(201);
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/media/keys`, { name: "live", environment: "live" }))
      .body.key;
    client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    await grantCredits(t, slug, "5");
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it("lists the mock media models, free", async () => {
    const free = new Map<string, boolean>();
    for await (const m of client.models.list())
      free.set(m.id, (m as unknown as { pricing: { free: boolean } }).pricing.free);
    for (const id of ["mock/image", "mock/transcribe", "mock/speech", "mock/moderation"])
      expect(free.get(id)).toBe(true);
  });

  it("mock/image: a PNG as b64_json, or as a data: URL; the log keeps its size, not its bytes", async () => {
    const { data: img, response } = await client.images
      .generate({ model: "mock/image", prompt: "a lighthouse at dusk" })
      .withResponse();
    const png = Buffer.from(img.data![0]!.b64_json!, "base64");
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(response.headers.get("x-tollgate-provider")).toBe("mock");
    const again = await client.images.generate({ model: "mock/image", prompt: "a lighthouse at dusk" });
    expect(again.data![0]!.b64_json).toBe(img.data![0]!.b64_json);
    const url = await client.images.generate({ model: "mock/image", prompt: "x", response_format: "url", n: 2 });
    expect(url.data).toHaveLength(2);
    expect(url.data![0]!.url).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    const log = await logOf(response.headers.get("x-request-id"));
    expect(log).toMatchObject({ endpoint: "images", modelServed: "mock/image", status: 200 });
    expect(log.requestBody).toMatchObject({ prompt: "a lighthouse at dusk" });
    expect(log.responseBody.data[0].b64_json).toBe(`[image: ${png.length} bytes]`);
    expect(JSON.stringify(log)).not.toContain(img.data![0]!.b64_json!.slice(0, 40));
  });

  it("mock/transcribe: an upload of audio bytes, as json, text and verbose_json", async () => {
    const audio = Buffer.alloc(64_000, 0xff);
    const file = await toFile(audio, "clip.wav", { type: "audio/wav" });
    const { data: tr, response } = await client.audio.transcriptions
      .create({ model: "mock/transcribe", file })
      .withResponse();
    expect(tr.text).toBe("Mock transcript of 64000 bytes of audio.");
    const text = await client.audio.transcriptions.create({
      model: "mock/transcribe",
      file: await toFile(Buffer.from("hello from a text file"), "note.txt", { type: "audio/wav" }),
      response_format: "text",
    });
    expect(text).toBe("hello from a text file");
    const verbose = await client.audio.transcriptions.create({
      model: "mock/transcribe",
      file: await toFile(audio, "clip.wav", { type: "audio/wav" }),
      response_format: "verbose_json",
    });
    expect(verbose.duration).toBe(2);
    const log = await logOf(response.headers.get("x-request-id"));
    expect(log).toMatchObject({ endpoint: "audio_transcriptions", modelServed: "mock/transcribe" });
    expect(log.requestBody).toEqual({ model: "mock/transcribe", file: "[audio: 64000 bytes, audio/wav]" });
    expect(log.responseBody).toMatchObject({ text: "Mock transcript of 64000 bytes of audio." });
  });

  it("mock/speech: audio bytes with the content type of the format asked for", async () => {
    const mp3 = await client.audio.speech.create({ model: "mock/speech", voice: "alloy", input: "Hello there" });
    expect(mp3.headers.get("content-type")).toBe("audio/mpeg");
    const bytes = Buffer.from(await mp3.arrayBuffer());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfb]));
    const wav = await client.audio.speech.create({
      model: "mock/speech",
      voice: "alloy",
      input: "Hello there",
      response_format: "wav",
    });
    expect(wav.headers.get("content-type")).toBe("audio/wav");
    const w = Buffer.from(await wav.arrayBuffer());
    expect(w.subarray(0, 4).toString("latin1")).toBe("RIFF");
    expect(w.length).toBe(44 + 11 * 80 * 2);
    const log = await logOf(wav.headers.get("x-request-id"));
    expect(log).toMatchObject({ endpoint: "audio_speech", modelServed: "mock/speech" });
    expect(log.responseBody).toBe(`[audio: ${w.length} bytes, audio/wav]`);
  });

  it("gpt-image-1 on OpenAI: forwarded with the upstream key, charged its reported tokens at the library's price", async () => {
    const before = await balance();
    const { data: img, response } = await client.images
      .generate({ model: "gpt-image-1", prompt: "a red bicycle", size: "1024x1024" })
      .withResponse();
    expect(img.data![0]!.b64_json).toBe(FAKE_SPEECH.toString("base64"));
    expect(fake.last()).toMatchObject({
      path: "/v1/images/generations",
      headers: { authorization: "Bearer sk-oa" },
      body: { model: "gpt-image-1", prompt: "a red bicycle", size: "1024x1024" },
    });
    // 50 text tokens × $5/M + 4,160 image output tokens × $40/M = 166,650 micro-USD.
    expect(response.headers.get("x-tollgate-cost-usd")).toBe("0.166650");
    expect(await balance()).toBe(before - 166_650n);
  });

  it("whisper-1: the upload is forwarded as multipart, charged its reported seconds at $0.36 per hour", async () => {
    const before = await balance();
    const { data: tr, response } = await client.audio.transcriptions
      .create({
        model: "whisper-1",
        file: await toFile(Buffer.alloc(48_000, 1), "talk.mp3", { type: "audio/mpeg" }),
        language: "en",
      })
      .withResponse();
    expect(tr.text).toBe("fake transcript of 48000 bytes");
    expect(fake.uploads.at(-1)).toEqual({
      fields: { model: "whisper-1", language: "en", response_format: "json" },
      file: { name: "talk.mp3", type: "audio/mpeg", size: 48_000 },
    });
    expect(fake.last().headers.authorization).toBe("Bearer sk-oa");
    // 12 s × 360,000 micro-USD per hour = 1,200 micro-USD.
    expect(response.headers.get("x-tollgate-cost-usd")).toBe("0.001200");
    expect(await balance()).toBe(before - 1_200n);
  });

  it("gpt-4o-transcribe: charged its audio and text tokens", async () => {
    const { response } = await client.audio.transcriptions
      .create({ model: "gpt-4o-transcribe", file: await toFile(Buffer.alloc(1000, 2), "a.wav", { type: "audio/wav" }) })
      .withResponse();
    // 20 text × $2.5/M + 100 audio × $6/M + 30 output × $10/M = 950 micro-USD.
    expect(response.headers.get("x-tollgate-cost-usd")).toBe("0.000950");
  });

  it("gpt-4o-mini-tts: the audio arrives whole, charged the usage of the streamed answer", async () => {
    const before = await balance();
    const res = await client.audio.speech.create({ model: "gpt-4o-mini-tts", voice: "coral", input: "Good morning" });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(FAKE_SPEECH);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    expect(fake.last().body).toMatchObject({ model: "gpt-4o-mini-tts", input: "Good morning", stream_format: "sse" });
    // 10 input × $0.6/M + 500 audio output × $12/M = 6,006 micro-USD.
    expect(res.headers.get("x-tollgate-cost-usd")).toBe("0.006006");
    expect(await balance()).toBe(before - 6_006n);
    const log = await logOf(res.headers.get("x-request-id"));
    expect(log.responseBody).toBe(`[audio: ${FAKE_SPEECH.length} bytes, audio/mpeg]`);
  });

  it("a model the price library does not price is refused before any upstream call", async () => {
    const calls = fake.requests.length;
    const err = await client.images.generate({ model: "dall-e-3", prompt: "x" }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.error).toMatchObject({ code: "model_not_priced" });
    expect(fake.requests.length).toBe(calls);
  });

  it("bad uploads: 415 for JSON, 400 invalid_multipart for a broken body, 400 invalid_file without a file", async () => {
    const post = (body: BodyInit, type: string) =>
      fetch(`${base}/v1/audio/transcriptions`, {
        method: "POST",
        headers: { authorization: `Bearer ${client.apiKey}`, "content-type": type },
        body,
      });
    const json = await post(JSON.stringify({ model: "mock/transcribe" }), "application/json");
    expect(json.status).toBe(415);
    expect((await json.json()).error.code).toBe("unsupported_media_type");
    const broken = await post('--x\r\nContent-Disposition: form-data; name="model"\r\n\r\nmock', "multipart/form-data");
    expect(broken.status).toBe(400);
    expect((await broken.json()).error.code).toBe("invalid_multipart");
    const form = new FormData();
    form.append("model", "mock/transcribe");
    const none = await fetch(`${base}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${client.apiKey}` },
      body: form,
    });
    expect(none.status).toBe(400);
    expect((await none.json()).error).toMatchObject({ code: "invalid_file", param: "file" });
  });

  it("images and speech parameters are checked against the SDK's types: 400 naming the parameter, nothing sent upstream", async () => {
    const calls = fake.requests.length;
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${base}/v1/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${client.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, error: (await r.json()).error };
    };
    const image = { model: "gpt-image-1", prompt: "a red bicycle" };
    const speech = { model: "gpt-4o-mini-tts", voice: "coral", input: "Good morning" };
    for (const [path, body, param, message] of [
      ["images/generations", { ...image, n: 0 }, "n", "`n` must be at least 1."],
      ["images/generations", { ...image, n: 11 }, "n", "`n` must be at most 10."],
      ["images/generations", { ...image, n: 1.5 }, "n", "`n` must be an integer."],
      ["images/generations", { model: "gpt-image-1" }, "prompt", "`prompt` is required."],
      ["images/generations", { ...image, prompt: "" }, "prompt", "`prompt` must be a non-empty string."],
      ["images/generations", { ...image, output_compression: 101 }, "output_compression", "must be at most 100"],
      ["images/generations", { ...image, output_format: "gif" }, "output_format", '"png", "jpeg", "webp"'],
      ["images/generations", { ...image, size: 1024 }, "size", "`size` must be a string."],
      ["audio/speech", { ...speech, speed: 10 }, "speed", "`speed` must be at most 4."],
      ["audio/speech", { ...speech, response_format: "ogg" }, "response_format", '"mp3", "opus", "aac", "flac"'],
      ["audio/speech", { ...speech, input: "x".repeat(4097) }, "input", "`input` must have at most 4096 characters."],
      ["audio/speech", { model: "gpt-4o-mini-tts", input: "hi" }, "voice", "`voice` is required."],
      ["audio/speech", { ...speech, voice: 7 }, "voice", "`voice` must be a voice name or a custom voice `{id}`."],
    ] as const) {
      const r = await post(path, body);
      expect(r.status, `${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(400);
      expect(r.error).toMatchObject({ code: `invalid_${param}`, param, type: "invalid_request_error" });
      expect(r.error.message).toContain(message);
    }
    const array = await post("images/generations", [image]);
    expect(array).toMatchObject({ status: 400, error: { code: "invalid_body" } });
    expect(fake.requests.length).toBe(calls);
  });

  it("parameters Tollgate does not know reach OpenAI unchanged; a custom voice `{id}` is accepted", async () => {
    await client.images.generate({
      model: "gpt-image-1",
      prompt: "a red bicycle",
      quality: "high",
      background: "transparent",
      x_vendor_flag: { keep: true },
    } as never);
    expect(fake.last().body).toEqual({
      model: "gpt-image-1",
      prompt: "a red bicycle",
      quality: "high",
      background: "transparent",
      x_vendor_flag: { keep: true },
    });
    const res = await client.audio.speech.create({
      model: "gpt-4o-mini-tts",
      voice: { id: "voice_1234" },
      input: "Good morning",
      speed: 1.25,
      x_vendor_flag: 1,
    } as never);
    expect(res.status).toBe(200);
    expect(fake.last().body).toMatchObject({ voice: { id: "voice_1234" }, speed: 1.25, x_vendor_flag: 1 });
  });

  it("transcription form fields are checked as the strings they arrive as; unknown fields go upstream", async () => {
    const calls = fake.requests.length;
    const upload = (fields: Record<string, string>) => {
      const form = new FormData();
      form.append("model", "whisper-1");
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append("file", new Blob([Buffer.alloc(4_000, 1)], { type: "audio/mpeg" }), "a.mp3");
      return fetch(`${base}/v1/audio/transcriptions`, {
        method: "POST",
        headers: { authorization: `Bearer ${client.apiKey}` },
        body: form,
      });
    };
    for (const [fields, param, message] of [
      [{ temperature: "hot" }, "temperature", "`temperature` must be a number."],
      [{ temperature: "1.5" }, "temperature", "`temperature` must be at most 1."],
      [{ response_format: "xml" }, "response_format", '"json", "text", "verbose_json", "srt", "vtt"'],
      [{ "timestamp_granularities[]": "line" }, "timestamp_granularities", 'must be "word" or "segment"'],
      [{ stream: "yes" }, "stream", 'must be one of "true", "false"'],
    ] as const) {
      const r = await upload(fields);
      expect(r.status, JSON.stringify(fields)).toBe(400);
      const { error } = await r.json();
      expect(error).toMatchObject({ code: `invalid_${param}`, param });
      expect(error.message).toContain(message);
    }
    expect(fake.requests.length).toBe(calls);
    const ok = await client.audio.transcriptions.create({
      model: "whisper-1",
      file: await toFile(Buffer.alloc(4_000, 1), "a.mp3", { type: "audio/mpeg" }),
      temperature: 0.2,
      timestamp_granularities: ["word", "segment"],
      response_format: "verbose_json",
      x_vendor_flag: "on",
    } as never);
    expect(ok.text).toBe("fake transcript of 4000 bytes");
    expect(fake.uploads.at(-1)!.fields).toMatchObject({
      temperature: "0.2",
      "timestamp_granularities[]": "segment",
      x_vendor_flag: "on",
    });
  });

  it("the OpenAPI document shows the media bodies' schemas, the transcription's as multipart form fields", async () => {
    const doc = await (await fetch(`${base}/api/openapi.json`)).json();
    const body = (path: string, type = "application/json") => doc.paths[path].post.requestBody.content[type].schema;
    const images = body("/v1/images/generations");
    expect(images.required).toEqual(["prompt"]);
    expect(images.properties.n.anyOf[0]).toEqual({ type: "integer", minimum: 1, maximum: 10 });
    const speech = body("/v1/audio/speech");
    expect(speech.required).toEqual(["input", "voice"]);
    expect(speech.properties.speed).toEqual({ type: "number", minimum: 0.25, maximum: 4 });
    expect(speech.properties.response_format.enum).toEqual(["mp3", "opus", "aac", "flac", "wav", "pcm"]);
    const form = body("/v1/audio/transcriptions", "multipart/form-data");
    expect(form.required).toEqual(["file"]);
    expect(form.properties.file).toMatchObject({ type: "string", format: "binary" });
    expect(form.properties.temperature).toMatchObject({
      type: "string",
      description: "A number from 0 to 1, sent as text.",
    });
    expect(body("/v1/moderations").properties.input.anyOf).toHaveLength(3);
  });

  it("an upload over 16 MiB is 413: by its Content-Length before reading, and while reading a chunked one", async () => {
    const calls = fake.requests.length;
    const start = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n' +
        '--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n',
    );
    const head = (length: string) =>
      `POST /v1/audio/transcriptions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${client.apiKey}\r\n` +
      `content-type: multipart/form-data; boundary=b\r\n${length}\r\n`;
    const declared = await rawRequest(head(`content-length: ${17 * 1024 * 1024}\r\n`), [start]);
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe("request_too_large");
    const mib = Buffer.alloc(1024 * 1024, 7);
    const chunk = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
    const chunked = await rawRequest(head("transfer-encoding: chunked\r\n"), [
      chunk(start),
      ...Array.from({ length: 17 }, () => chunk(mib)),
    ]);
    expect(chunked.status).toBe(413);
    expect(chunked.body.error.code).toBe("request_too_large");
    expect(fake.requests.length).toBe(calls);
  });
});
