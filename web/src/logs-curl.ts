/**
 * "Copy as curl": a command repeating a logged request against this Tollgate's `/v1/…` endpoint with
 * the stored body. The key is never in it: `Authorization: Bearer $TOLLGATE_API_KEY` reads the caller's
 * own from the shell. Requests whose body the log does not hold whole have no command, and say why.
 */

/** The gateway path of each endpoint that takes a JSON body. */
const PATHS: Record<string, string> = {
  chat: "/v1/chat/completions",
  messages: "/v1/messages",
  responses: "/v1/responses",
  embeddings: "/v1/embeddings",
  images: "/v1/images/generations",
  audio_speech: "/v1/audio/speech",
  moderations: "/v1/moderations",
};

/** A string as one POSIX shell word: in single quotes, each single quote written as '\''. */
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export type Curl = { command: string } | { unavailable: string };

export function curlFor(log: { endpoint: string; requestBody: unknown; tags?: string[] | null }, origin: string): Curl {
  const body = log.requestBody;
  if (body === null || body === undefined)
    return {
      unavailable:
        "This project does not store request bodies, so the request cannot be repeated from its log. Turn on Settings → Log bodies to keep them.",
    };
  if (typeof body === "object" && (body as { truncated?: unknown }).truncated === true)
    return { unavailable: "The stored body was cut at the log's size cap, so the request cannot be repeated whole." };
  if (log.endpoint === "audio_transcriptions")
    return { unavailable: "An audio upload: the log keeps a placeholder of the file, not the audio." };
  const path = PATHS[log.endpoint];
  if (!path) return { unavailable: `Requests to the ${log.endpoint} endpoint cannot be repeated with curl.` };
  const stream = typeof body === "object" && (body as { stream?: unknown }).stream === true;
  const lines = [
    `curl${stream ? " -N" : ""} ${origin}${path}`,
    `-H "Authorization: Bearer $TOLLGATE_API_KEY"`,
    `-H "Content-Type: application/json"`,
    ...(log.tags?.length ? [`-H ${shellQuote(`x-tollgate-tags: ${log.tags.join(",")}`)}`] : []),
    `-d ${shellQuote(JSON.stringify(body))}`,
  ];
  return { command: lines.join(" \\\n  ") };
}
