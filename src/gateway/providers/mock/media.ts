/**
 * The mock provider's media models, deterministic and offline:
 * - `mock/image`: an 8×8 PNG whose colour is derived from the prompt, as
 *   `b64_json` or, for `response_format: "url"`, a `data:image/png;base64,…` URL;
 * - `mock/transcribe`: an upload of at most 1 KiB that is valid UTF-8 text is
 *   "heard" as that text; anything else transcribes to
 *   "Mock transcript of N bytes of audio."; the audio is taken to last
 *   bytes / 32 000 seconds (16 kHz, 16-bit mono);
 * - `mock/speech`: silence, 10 ms per input character, as WAV, raw PCM or MP3
 *   (silent MPEG-1 Layer III frames); other formats are refused;
 * - `mock/moderation`: flags an input (category `violence`) when it contains
 *   the trigger word `mock-flagged`.
 * Usage is a simple estimate; the models are free.
 */
import { crc32, deflateSync } from "node:zlib";
import type { Upload } from "../../media.js";
import { type ProviderAdapter, type UpstreamTarget, UpstreamError } from "../types.js";

/** The trigger word of `mock/moderation`. */
const FLAG_WORD = "mock-flagged";
const CATEGORIES = [
  "harassment",
  "harassment/threatening",
  "hate",
  "hate/threatening",
  "illicit",
  "illicit/violent",
  "self-harm",
  "self-harm/instructions",
  "self-harm/intent",
  "sexual",
  "sexual/minors",
  "violence",
  "violence/graphic",
];

const estimate = (text: string) => Math.ceil(text.length / 4);

function only(target: UpstreamTarget, model: string, what: string): void {
  if (target.model !== model)
    throw new UpstreamError("http", `mock has no ${what} model "${target.model}" (try mock/${model})`, {
      status: 404,
      upstreamCode: "model_not_found",
    });
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8×8 RGB PNG of one colour. */
function png(r: number, g: number, b: number): Buffer {
  const size = 8;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const row = Buffer.from([0, ...Array.from({ length: size }, () => [r, g, b]).flat()]);
  const pixels = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(pixels)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function heard(file: Upload): string {
  if (file.data.length > 0 && file.data.length <= 1024) {
    try {
      return decoder.decode(file.data);
    } catch {
      // Not text: audio.
    }
  }
  return `Mock transcript of ${file.data.length} bytes of audio.`;
}

const stamp = (s: number, sep: string) => {
  const ms = Math.round(s * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(Math.floor(ms / 3_600_000))}:${p(Math.floor(ms / 60_000) % 60)}:${p(Math.floor(ms / 1000) % 60)}${sep}${p(ms % 1000, 3)}`;
};

/** Silence of `seconds`: WAV (8 kHz, 16-bit mono), raw PCM (24 kHz, 16-bit) or MP3 frames. */
function silence(format: string, seconds: number): { audio: Buffer; contentType: string } {
  if (format === "pcm") return { audio: Buffer.alloc(Math.ceil(seconds * 24_000) * 2), contentType: "audio/pcm" };
  if (format === "wav") {
    const data = Math.ceil(seconds * 8000) * 2;
    const h = Buffer.alloc(44);
    h.write("RIFF", 0, "latin1");
    h.writeUInt32LE(36 + data, 4);
    h.write("WAVEfmt ", 8, "latin1");
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20); // PCM
    h.writeUInt16LE(1, 22); // mono
    h.writeUInt32LE(8000, 24);
    h.writeUInt32LE(16_000, 28);
    h.writeUInt16LE(2, 32);
    h.writeUInt16LE(16, 34);
    h.write("data", 36, "latin1");
    h.writeUInt32LE(data, 40);
    return { audio: Buffer.concat([h, Buffer.alloc(data)]), contentType: "audio/wav" };
  }
  if (format === "mp3") {
    // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no CRC: 417-byte frames of 1152 samples; zero side info is silence.
    const frames = Math.max(1, Math.ceil((seconds * 44_100) / 1152));
    const frame = Buffer.alloc(417);
    frame.set([0xff, 0xfb, 0x90, 0x64]);
    return { audio: Buffer.concat(Array.from({ length: frames }, () => frame)), contentType: "audio/mpeg" };
  }
  throw new UpstreamError("http", `mock/speech answers mp3, wav or pcm, not "${format}"`, {
    status: 400,
    upstreamCode: "unsupported_response_format",
  });
}

export function mockMedia(): Required<Pick<ProviderAdapter, "images" | "transcribe" | "speech" | "moderate">> {
  return {
    async images(req, target) {
      only(target, "image", "image");
      const h = crc32(Buffer.from(req.prompt, "utf8"));
      const b64 = png((h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff).toString("base64");
      const n = Math.max(1, Math.trunc(Number(req.n ?? 1)) || 1);
      const item = req.response_format === "url" ? { url: `data:image/png;base64,${b64}` } : { b64_json: b64 };
      return {
        response: { created: Math.floor(Date.now() / 1000), data: Array.from({ length: n }, () => ({ ...item })) },
        usage: { inputTokens: estimate(req.prompt), cachedInputTokens: 0, outputTokens: 0, estimated: true },
      };
    },

    async transcribe(req, target) {
      only(target, "transcribe", "transcription");
      const text = heard(req.file);
      const seconds = req.file.data.length / 32_000;
      const usage = {
        inputTokens: 0,
        cachedInputTokens: 0,
        outputTokens: estimate(text),
        audioInputSeconds: seconds,
        estimated: true,
      };
      const f = req.responseFormat;
      if (f === "text") return { body: text, usage };
      if (f === "srt") return { body: `1\n${stamp(0, ",")} --> ${stamp(seconds, ",")}\n${text}\n\n`, usage };
      if (f === "vtt") return { body: `WEBVTT\n\n${stamp(0, ".")} --> ${stamp(seconds, ".")}\n${text}\n\n`, usage };
      if (f === "verbose_json")
        return {
          body: {
            task: "transcribe",
            language: "english",
            duration: seconds,
            text,
            segments: [{ id: 0, seek: 0, start: 0, end: seconds, text }],
            usage: { type: "duration", seconds: Math.ceil(seconds) },
          },
          usage,
        };
      return { body: { text, usage: { type: "duration", seconds: Math.ceil(seconds) } }, usage };
    },

    async speech(req, target) {
      only(target, "speech", "speech");
      const format = typeof req.response_format === "string" ? req.response_format : "mp3";
      const { audio, contentType } = silence(format, Math.max(0.01, req.input.length * 0.01));
      return {
        audio,
        contentType,
        usage: { inputTokens: estimate(req.input), cachedInputTokens: 0, outputTokens: 0, estimated: true },
      };
    },

    async moderate(req, target) {
      only(target, "moderation", "moderation");
      const inputs = (typeof req.input === "string" ? [req.input] : req.input).map((x) =>
        typeof x === "string" ? x : typeof x.text === "string" ? x.text : "",
      );
      const results = inputs.map((text) => {
        const flagged = text.toLowerCase().includes(FLAG_WORD);
        const categories = Object.fromEntries(CATEGORIES.map((c) => [c, flagged && c === "violence"]));
        const scores = Object.fromEntries(CATEGORIES.map((c) => [c, flagged && c === "violence" ? 0.99 : 0.0001]));
        const applied = Object.fromEntries(CATEGORIES.map((c) => [c, ["text"]]));
        return { flagged, categories, category_scores: scores, category_applied_input_types: applied };
      });
      return {
        response: { id: `modr-mock-${crc32(inputs.join("\n")).toString(16)}`, model: "mock/moderation", results },
        usage: {
          inputTokens: inputs.reduce((s, t) => s + estimate(t), 0),
          cachedInputTokens: 0,
          outputTokens: 0,
          estimated: true,
        },
      };
    },
  };
}
