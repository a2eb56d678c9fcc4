/**
 * Small pieces every HTTP adapter builds its requests and answers from: URL
 * joining, a custom provider's extra headers (minus reserved ones), and ids
 * for objects the upstream did not name.
 */

/** Joins a base URL and a path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** Custom-provider headers minus anything that would override auth, framing or hop-by-hop semantics. */
const RESERVED =
  /^(host|content-length|content-type|transfer-encoding|connection|keep-alive|upgrade|te|trailer|proxy-.*|authorization|x-api-key|x-goog-api-key|api-key|cookie|expect)$/i;
export function safeExtraHeaders(h: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (RESERVED.test(k) || /[\r\n\0]/.test(k + v) || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) continue;
    out[k.toLowerCase()] = v;
  }
  return out;
}

let seq = 0;
/** Ids for objects the upstream did not name (e.g. Gemini tool calls); unique per process, not secret. */
export function newId(prefix: string): string {
  seq = (seq + 1) % 1_000_000;
  return `${prefix}${Date.now().toString(36)}${seq.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
