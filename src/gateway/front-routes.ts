/**
 * The gateway's route table: which method and path reach which endpoint.
 * Paths are exact (`/v1/chat/completions`) or hold one parameter: a segment
 * `{id}` (`/v1/responses/{id}/input_items`) or, last, `{id*}` — the rest of
 * the path, since model ids hold slashes (`/v1/models/{id*}`). Every `/v1/`
 * path is the gateway's: an unknown one answers 404 and a known path with
 * another method 405 (with `Allow`), both in the path's error shape, never the
 * management API's.
 */
import type { ZodType } from "zod";
import type { Caller, GatewayCall } from "./call.js";
import type { GatewayError } from "./errors.js";
import type { Exchange } from "./exchange.js";
import type { Endpoint } from "./request-log.js";

export type Method = "GET" | "POST" | "DELETE";

/** What the OpenAPI document says of a route (every /v1 route is listed there). */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** OpenAPI tag: "OpenAI API", "Anthropic API". */
  tag: string;
  /** The schema that checks the body (JSON, or a multipart form's fields): the document shows it as the request body's JSON Schema. */
  body?: ZodType;
}

interface RouteBase {
  method: Method;
  /** `/v1/models` or `/v1/models/{id*}`. */
  path: string;
  doc: RouteDoc;
  /** The error shape of this path. */
  errorBody(e: GatewayError, requestId: string): unknown;
}

/** A metered call: one log record, rate limits, a JSON (or multipart) body, billing (front.ts). */
export interface CallRoute extends RouteBase {
  kind: "call";
  endpoint: Endpoint;
  /** How the body is read: JSON (default) or multipart/form-data (an upload: `multipartOf(x)`). */
  body?: "json" | "multipart";
  serve(call: GatewayCall): Promise<void>;
}

/** A read or housekeeping request of a verified key (no log record, no charge). */
export interface PlainRoute extends RouteBase {
  kind: "plain";
  /** Whether the JSON body is read first (`x.body`), after the request-rate limits. */
  body?: boolean;
  answer(x: Exchange, caller: Caller, id: string | null): Promise<void>;
}

export type Route = CallRoute | PlainRoute;

export type RouteMatch =
  | { kind: "route"; route: Route; id: string | null }
  | { kind: "method_not_allowed"; allow: Method[] }
  | { kind: "not_found" };

export function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

interface Pattern {
  segments: string[];
  /** The last segment is `{id*}`: the rest of the path, slashes included (model ids: `openai/gpt-4o`). */
  rest: boolean;
  routes: Route[];
}

export class RouteTable {
  /** Paths without a parameter: one map lookup (the hot paths). */
  private readonly exact = new Map<string, Route[]>();
  private readonly patterns: Pattern[] = [];

  add(route: Route): this {
    if (!route.path.includes("{")) {
      const list = this.exact.get(route.path) ?? [];
      list.push(route);
      this.exact.set(route.path, list);
      return this;
    }
    const segments = route.path.split("/");
    const rest = segments[segments.length - 1] === "{id*}";
    const same = this.patterns.find((p) => p.segments.join("/") === segments.join("/"));
    if (same) same.routes.push(route);
    else this.patterns.push({ segments, rest, routes: [route] });
    return this;
  }

  match(method: string | undefined, path: string): RouteMatch {
    let id: string | null = null;
    let list = this.exact.get(path);
    if (!list) {
      const parts = path.split("/");
      for (const p of this.patterns) {
        const found = matchPattern(p, parts);
        if (found !== null) {
          list = p.routes;
          id = found;
          break;
        }
      }
    }
    if (!list) return { kind: "not_found" };
    const route = list.find((r) => r.method === method);
    if (route) return { kind: "route", route, id };
    return { kind: "method_not_allowed", allow: list.map((r) => r.method) };
  }

  routes(): Route[] {
    return [...[...this.exact.values()].flat(), ...this.patterns.flatMap((p) => p.routes)];
  }
}

/** The `{id}` of a path that matches the pattern (decoded, never empty), else null. */
function matchPattern(p: Pattern, parts: string[]): string | null {
  const last = p.segments.length - 1;
  if (p.rest ? parts.length <= last : parts.length !== p.segments.length) return null;
  let id: string | null = null;
  for (let i = 0; i <= last; i++) {
    const seg = p.segments[i]!;
    if (seg === "{id}") id = decodeSegment(parts[i]!);
    else if (seg === "{id*}") id = decodeSegment(parts.slice(i).join("/"));
    else if (seg !== parts[i]) return null;
  }
  return id ? id : null;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return "";
  }
}
