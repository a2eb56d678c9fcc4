/**
 * The gateway's part of the OpenAPI document (`/api/openapi.json`): one
 * operation per route of the front's route table, so every /v1 route —
 * including routes added later — is listed. Each operation carries the
 * route's summary and tag, the bearer API-key security scheme, its `{id}`
 * path parameter, the request body's JSON Schema when the route declares one
 * (generated from the zod schema that checks it; a multipart body's text
 * fields and file as multipart/form-data) and the error answers in the
 * route's own error shape (OpenAI's or Anthropic's).
 */
import { z } from "zod";
import { GatewayError } from "./errors.js";
import type { Route } from "./front-routes.js";

/** The security scheme of project API keys, declared with the document (platform/server.ts). */
const API_KEY_SCHEME = "apiKey";

const OPENAI_ERROR = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "code"],
      properties: {
        message: { type: "string" },
        type: { type: "string" },
        param: { type: ["string", "null"], description: "The request parameter at fault." },
        code: { type: "string", description: "Stable error code (`invalid_temperature`, `insufficient_credits`…)." },
        source: { type: "string", enum: ["gateway", "upstream"] },
        request_id: { type: "string" },
      },
    },
  },
};

const ANTHROPIC_ERROR = {
  type: "object",
  required: ["type", "error"],
  properties: {
    type: { const: "error" },
    error: {
      type: "object",
      required: ["type", "message"],
      properties: {
        type: { type: "string" },
        message: { type: "string", description: "Names the request parameter at fault." },
        code: { type: "string" },
        source: { type: "string", enum: ["gateway", "upstream"] },
      },
    },
    request_id: { type: "string" },
  },
};

const ERRORS_ALWAYS: Record<string, string> = {
  "401": "Missing, unknown, revoked or expired API key",
  "404": "Not found",
  "429": "Rate limit exceeded",
  "503": "Tollgate is restarting or a shared store is unreachable",
};

const ERRORS_OF_CALLS: Record<string, string> = {
  "400": "A parameter has the wrong type or value (the error names it), or the body is not UTF-8 JSON",
  "402": "Not enough credits, or the project's spend cap is reached",
  "403": "The project may not use this model, or its security policy refused the request",
  "413": "The body is too large",
  "415": "The body is not application/json",
  "502": "The provider failed",
  "504": "The provider timed out",
};

function bodySchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return json;
}

function operation(route: Route): Record<string, unknown> {
  // The error shape of the route, told by what its renderer produces.
  const sample = route.errorBody(new GatewayError("unknown_url"), "") as { type?: unknown };
  const errorSchema = sample.type === "error" ? ANTHROPIC_ERROR : OPENAI_ERROR;
  const errors = route.kind === "call" ? { ...ERRORS_ALWAYS, ...ERRORS_OF_CALLS } : ERRORS_ALWAYS;
  const responses: Record<string, unknown> = {
    "200": {
      description: "OK",
      content:
        route.kind === "call"
          ? { "application/json": {}, "text/event-stream": { description: "With `stream: true`" } }
          : { "application/json": {} },
    },
  };
  for (const [status, description] of Object.entries(errors))
    responses[status] = { description, content: { "application/json": { schema: errorSchema } } };
  const hasId = route.path.includes("{id");
  return {
    summary: route.doc.summary,
    ...(route.doc.description ? { description: route.doc.description } : {}),
    tags: [route.doc.tag],
    security: [{ [API_KEY_SCHEME]: [] }],
    ...(hasId ? { parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }] } : {}),
    ...(route.doc.body || route.method === "POST"
      ? {
          requestBody: {
            required: true,
            content: {
              [route.kind === "call" && route.body === "multipart" ? "multipart/form-data" : "application/json"]: {
                schema: route.doc.body ? bodySchema(route.doc.body) : { type: "object" },
              },
            },
          },
        }
      : {}),
    responses,
  };
}

/** OpenAPI path items for every route (`{id*}` is written `{id}`: an id with slashes is sent URL-encoded). */
export function openapiPaths(routes: readonly Route[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace("{id*}", "{id}");
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  return paths;
}
