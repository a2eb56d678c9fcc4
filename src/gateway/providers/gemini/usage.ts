/**
 * Gemini usageMetadata → canonical usage: output includes thinking tokens
 * (billed as output); input includes cachedContentTokenCount and tool-use
 * prompt tokens; audio/image parts come from the per-modality details.
 */
import type { Usage } from "../../types.js";

interface ModalityCount {
  modality?: string;
  tokenCount?: number;
}
/** The UsageMetadata fields we meter (Gemini omits zero counts). */
export interface UsageMetadata {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
  promptTokensDetails?: ModalityCount[];
  cacheTokensDetails?: ModalityCount[];
  candidatesTokensDetails?: ModalityCount[];
  toolUsePromptTokensDetails?: ModalityCount[];
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** Tokens of one modality in a ModalityTokenCount list (0 when absent or malformed). */
function modality(list: ModalityCount[] | undefined, name: string): number {
  if (!Array.isArray(list)) return 0;
  let sum = 0;
  for (const d of list) if (d && d.modality === name) sum += count(d.tokenCount);
  return sum;
}

export function usageFromGemini(m: UsageMetadata | undefined): Usage | undefined {
  if (!m || typeof m !== "object") return undefined;
  const input = count(m.promptTokenCount) + count(m.toolUsePromptTokenCount);
  const cached = Math.min(count(m.cachedContentTokenCount), input);
  const thoughts = count(m.thoughtsTokenCount);
  const candidates = count(m.candidatesTokenCount);
  const usage: Usage = { inputTokens: input, cachedInputTokens: cached, outputTokens: candidates + thoughts };
  // Tool-use prompt tokens are input too, and carry their own modality breakdown.
  const audioIn = Math.min(
    modality(m.promptTokensDetails, "AUDIO") + modality(m.toolUsePromptTokensDetails, "AUDIO"),
    input,
  );
  if (audioIn) usage.audioInputTokens = audioIn;
  const cachedAudio = Math.min(modality(m.cacheTokensDetails, "AUDIO"), audioIn, cached);
  if (cachedAudio) usage.cachedAudioInputTokens = cachedAudio;
  const imageIn = Math.min(
    modality(m.promptTokensDetails, "IMAGE") + modality(m.toolUsePromptTokensDetails, "IMAGE"),
    input - audioIn,
  );
  if (imageIn) usage.imageInputTokens = imageIn;
  if (thoughts) usage.reasoningTokens = thoughts;
  // candidatesTokensDetails breaks down candidatesTokenCount, which excludes thoughts.
  const audioOut = Math.min(modality(m.candidatesTokensDetails, "AUDIO"), candidates);
  if (audioOut) usage.audioOutputTokens = audioOut;
  const imageOut = Math.min(modality(m.candidatesTokensDetails, "IMAGE"), candidates - audioOut);
  if (imageOut) usage.imageOutputTokens = imageOut;
  return usage;
}
