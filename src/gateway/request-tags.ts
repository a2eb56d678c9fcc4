/**
 * What a request says about itself for the reports: its tags (the
 * `x-tollgate-tags` header, comma-separated) and its `metadata` object (in the
 * JSON body of chat completions, messages, responses and embeddings). Both are
 * read once the body is parsed, refused with a 400 when malformed
 * (`invalid_tags`, `invalid_metadata`) before any provider is called, and kept
 * on the call's log record; tags also go with its charge (usage by tag).
 *
 * `metadata` is Tollgate's, not the provider's: it is taken out of the body
 * before the endpoint reads it, except what the endpoint's own API defines and
 * passes on itself — Anthropic's `metadata.user_id` on /v1/messages (the end
 * user), and the Responses API's `metadata`, which the response echoes.
 */
import { invalidRequest } from "./errors.js";
import type { Endpoint } from "./request-log.js";

export const TAGS_HEADER = "x-tollgate-tags";
const MAX_TAGS = 10;
const MAX_METADATA_KEYS = 16;
const MAX_KEY_LENGTH = 64;
const MAX_VALUE_LENGTH = 512;
const TAG = /^[A-Za-z0-9._:/-]{1,64}$/;

const badTags = (message: string) => invalidRequest("invalid_tags", `\`${TAGS_HEADER}\` ${message}`);

/**
 * The request's tags: the header split at commas, each trimmed, duplicates dropped (first order kept);
 * null without the header (or with an empty one). A tag is 1–64 letters, digits and `._:-/`.
 */
export function parseTags(header: string | string[] | undefined): string[] | null {
  if (header === undefined) return null;
  const text = Array.isArray(header) ? header.join(",") : header;
  if (text.trim() === "") return null;
  const tags: string[] = [];
  for (const raw of text.split(",")) {
    const tag = raw.trim();
    if (!TAG.test(tag))
      throw badTags(
        tag === ""
          ? "has an empty tag: send tags separated by single commas."
          : `has an invalid tag ${JSON.stringify(tag.slice(0, 80))}: a tag is 1–64 letters, digits and . _ : - /.`,
      );
    if (!tags.includes(tag)) tags.push(tag);
  }
  if (tags.length > MAX_TAGS) throw badTags(`has ${tags.length} tags; send at most ${MAX_TAGS}.`);
  return tags;
}

/** The endpoints whose JSON body may carry a `metadata` object for the log. */
const WITH_METADATA: ReadonlySet<Endpoint> = new Set(["chat", "messages", "responses", "embeddings"]);

const badMetadata = (message: string, param = "metadata") => invalidRequest("invalid_metadata", message, param);

/** A checked `metadata` object: string values only, at most 16 keys of 1–64 characters, values up to 512. */
function checkMetadata(value: unknown, endpoint: Endpoint): Record<string, string> | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || Array.isArray(value))
    throw badMetadata("`metadata` must be an object of string values.");
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    // Anthropic's own field may be null (its SDK sends it so): no end user.
    if (v === null && endpoint === "messages" && k === "user_id") continue;
    const param = `metadata.${k}`;
    if (k.length < 1 || k.length > MAX_KEY_LENGTH)
      throw badMetadata(`\`metadata\` keys must have 1–${MAX_KEY_LENGTH} characters.`);
    if (typeof v !== "string") throw badMetadata(`\`${param}\` must be a string.`, param);
    if (v.length > MAX_VALUE_LENGTH)
      throw badMetadata(`\`${param}\` must have at most ${MAX_VALUE_LENGTH} characters.`, param);
    if (++n > MAX_METADATA_KEYS) throw badMetadata(`\`metadata\` must have at most ${MAX_METADATA_KEYS} entries.`);
    out[k] = v;
  }
  return n > 0 ? out : null;
}

/**
 * The body's `metadata` for the log (null without one), checked; the body the endpoint goes on with,
 * without it (see the header for what stays). `body` itself when it has no `metadata`.
 */
export function takeMetadata(
  body: unknown,
  endpoint: Endpoint,
): { metadata: Record<string, string> | null; body: unknown } {
  if (!WITH_METADATA.has(endpoint) || !body || typeof body !== "object" || Array.isArray(body))
    return { metadata: null, body };
  const b = body as Record<string, unknown>;
  if (!("metadata" in b)) return { metadata: null, body };
  const metadata = checkMetadata(b.metadata, endpoint);
  if (endpoint === "responses") return { metadata, body };
  const { metadata: _taken, ...rest } = b;
  if (endpoint === "messages" && typeof metadata?.user_id === "string")
    return { metadata, body: { ...rest, metadata: { user_id: metadata.user_id } } };
  return { metadata, body: rest };
}
