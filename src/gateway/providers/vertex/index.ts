/**
 * Google Vertex AI: the `vertex` wire format (an organization's custom
 * provider of that format: project, location, service account key) and the
 * built-in `vertex` provider the operator configures from GOOGLE_VERTEX_* and
 * GOOGLE_APPLICATION_CREDENTIALS (catalog.ts). It hosts Google's Gemini models
 * and Anthropic's Claude models; built-in, each is priced as the price
 * library prices it at Google (Gemini) or at Anthropic (Claude).
 */
import type { ProviderDescriptor } from "../descriptor.js";
import { anthropic } from "../anthropic/index.js";
import { gemini } from "../gemini/index.js";
import { createVertexAdapter, vertexPublisher } from "./adapter.js";

export const vertex: ProviderDescriptor = {
  id: "vertex",
  name: "Google Vertex AI",
  createAdapter: () => createVertexAdapter(),
  // Every location has its own endpoint (config-vertex.ts vertexBaseUrl); offered only once configured.
  defaultBaseUrl: "",
  configKey: "vertex",
  models: {
    kind: "publishers",
    publishers: [
      { models: /^claude-/, pricedAs: "anthropic" },
      { models: /^gemini-/, pricedAs: "gemini" },
    ],
  },
  // Each publisher's models bound an image as that publisher's own API does.
  imageTokenCeiling: (model) =>
    vertexPublisher(model) === "anthropic" ? anthropic.imageTokenCeiling(model) : gemini.imageTokenCeiling(model),
};
