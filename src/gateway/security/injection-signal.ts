/**
 * The building blocks of the prompt-injection signal table: the signal shape,
 * the `sig` constructor, and word lists shared by several families.
 */
export type InjectionFamily = "override" | "extraction" | "roleplay" | "encoded" | "indirect";

export interface Signal {
  id: string;
  family: InjectionFamily;
  weight: number;
  /** Cheap gate: every group needs one of its word stems (or literal strings) in the text. */
  need: readonly (readonly string[])[];
  re: RegExp;
  /** A phrase people also use when merely asking about it (damped in questions). */
  mention?: boolean;
}

export const S = "[^.!?\\n]"; // within one sentence
export const sig = (
  id: string,
  family: InjectionFamily,
  weight: number,
  need: string[][],
  source: string,
  mention = false,
): Signal => ({
  id,
  family,
  weight,
  need,
  re: new RegExp(source),
  mention,
});

export const AI_WORDS = ["ai", "ais", "assistant", "llm", "language", "model", "agent", "chatbot", "bot"];
