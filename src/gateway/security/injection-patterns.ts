/**
 * The prompt-injection signal table, one family per file. Order matters: the
 * detector evaluates signals in this order, so reported signal lists and the
 * chosen excerpt follow it.
 */
import { EXTRACTION_SIGNALS } from "./injection-patterns-extraction.js";
import { ENCODED_SIGNALS, INDIRECT_SIGNALS } from "./injection-patterns-indirect.js";
import { OVERRIDE_SIGNALS } from "./injection-patterns-override.js";
import { ROLEPLAY_SIGNALS } from "./injection-patterns-roleplay.js";
import type { Signal } from "./injection-signal.js";

export const SIGNALS: readonly Signal[] = [
  ...OVERRIDE_SIGNALS,
  ...EXTRACTION_SIGNALS,
  ...ROLEPLAY_SIGNALS,
  ...ENCODED_SIGNALS,
  ...INDIRECT_SIGNALS,
];
