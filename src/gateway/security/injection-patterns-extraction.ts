/** Prompt-injection signals for system-prompt extraction ("reveal your instructions", "repeat the text above", …). */
import { S, type Signal, sig } from "./injection-signal.js";

const EXTRACT_VERBS = [
  "reveal",
  "show",
  "print",
  "output",
  "repeat",
  "display",
  "tell",
  "give",
  "leak",
  "dump",
  "paste",
  "write",
  "spell",
  "share",
  "list",
  "provide",
  "return",
  "recite",
  "disclose",
  "expose",
  "copy",
  "summari",
];

export const EXTRACTION_SIGNALS: readonly Signal[] = [
  sig(
    "reveal_your_prompt",
    "extraction",
    0.75,
    [
      EXTRACT_VERBS,
      ["your", "ur"],
      ["system", "prompt", "instruction", "rule", "configuration", "guideline", "context"],
    ],
    `\\b(?:reveal|show|print|output|repeat|display|tell|give|leak|dump|paste|write out|spell out|share|list|provide|return|recite|disclose|expose|copy|summari[sz]e)\\b(?: me| us)?${S}{0,25}?\\b(?:your|ur)\\b${S}{0,30}?\\b(?:system (?:prompt|message|instructions?)|(?:initial|original|hidden|secret|confidential|internal) (?:prompt|instructions|rules)|instructions|prompt|rules|configuration|guidelines|context(?: window)?)\\b`,
  ),
  sig(
    "what_is_your_prompt",
    "extraction",
    0.7,
    [["what"], ["your", "ur"], ["prompt", "instruction", "rule", "directive", "system"]],
    `\\bwhat (?:is|are|was|were) (?:your|ur) (?:(?:exact|full|original|initial|real|hidden|secret|complete) )*(?:system prompt|system message|instructions|prompt|rules|directives)\\b`,
  ),
  sig(
    "repeat_above",
    "extraction",
    0.6,
    [
      ["repeat", "print", "output", "copy", "write", "reproduce", "echo", "dump", "return"],
      ["above", "before", "preceding", "prior"],
    ],
    `\\b(?:repeat|print|output|copy|write|reproduce|echo|dump|return)\\b${S}{0,30}?\\b(?:(?:text|words|everything|content|contents|all|messages?|lines?) (?:above|before (?:this|my)|preceding|prior)|(?:above|preceding) (?:text|content|words))\\b`,
  ),
  sig(
    "starting_with_you_are",
    "extraction",
    0.6,
    [["starting", "begin"], ["you"]],
    `\\b(?:starting|begin|beginning) with ["'‘“]?you are\\b`,
  ),
  sig(
    "verbatim",
    "extraction",
    0.35,
    [["verbatim", "word", "exactly", "full", "summari", "character"]],
    `\\b(?:verbatim|word[- ]for[- ]word|exactly as (?:they were |it was )?(?:given|written)|in full|don'?t summari[sz]e|character by character|one character at a time)\\b`,
  ),
  sig(
    "prompt_you_were_given",
    "extraction",
    0.55,
    [["you"], ["prompt", "instruction", "system"], ["given", "received", "initiali", "provided", "told", "gave"]],
    `\\b(?:prompt|instructions|system message)s? you (?:were |have been )?(?:given|received|initiali[sz]ed with|provided with|told)\\b|\\binstructions (?:your|the) (?:developers?|creators?|admins?|owners?) gave you\\b`,
  ),
  sig(
    "reveal_the_prompt",
    "extraction",
    0.35,
    [
      ["reveal", "show", "print", "output", "display", "leak", "dump", "paste", "disclose"],
      ["system", "initial", "hidden"],
      ["prompt", "message"],
    ],
    `\\b(?:reveal|show|print|output|display|leak|dump|paste|disclose)\\b${S}{0,15}?\\bthe (?:(?:full|entire|complete|hidden|original|initial|exact) )*(?:system (?:prompt|message)|initial prompt|hidden prompt)\\b`,
    true,
  ),
  sig(
    "mentions_system_prompt",
    "extraction",
    0.15,
    [
      ["system", "hidden", "context"],
      ["prompt", "configuration", "window"],
    ],
    `\\b(?:system prompt|hidden configuration|context window)\\b`,
    true,
  ),
  sig("leak", "extraction", 0.25, [["leak"]], `\\bleak\\b`),
];
