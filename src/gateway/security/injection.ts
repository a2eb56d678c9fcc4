/**
 * Prompt-injection detection: scored heuristics, no model. Invariants:
 * - Input is normalised first (normalize.ts); each signal is a regex over the
 *   normalised text, gated by word stems found in one pass, so signals whose
 *   words are absent cost nothing. All regexes are ours, bounded, without
 *   nested quantifiers.
 * - score = 1 − Π(1 − wᵢ) over the distinct signals that fire (noisy-OR), so
 *   it is in [0,1] and one weak signal never reaches the default threshold;
 *   text that talks *about* attacks (meta/education markers) is damped.
 * - Embedded base64/hex/%/rot13 payloads are decoded and scored too, at most
 *   MAX_DEPTH levels deep, with an explicit work list (no recursion).
 * - Never throws; cost is linear in the text length.
 */
import { decodeBlobs, normalizeForInjection } from "./normalize.js";
import type { Detector, Match } from "./types.js";

export type InjectionFamily = "override" | "extraction" | "roleplay" | "encoded" | "indirect";

interface Signal {
  id: string;
  family: InjectionFamily;
  weight: number;
  /** Cheap gate: every group needs one of its word stems (or literal strings) in the text. */
  need: readonly (readonly string[])[];
  re: RegExp;
  /** A phrase people also use when merely asking about it (damped in questions). */
  mention?: boolean;
}

const S = "[^.!?\\n]"; // within one sentence
const sig = (
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

const OVERRIDE_VERBS = [
  "ignor",
  "disregard",
  "forget",
  "overrid",
  "bypass",
  "skip",
  "neglect",
  "abandon",
  "discard",
  "circumvent",
  "drop",
];
const OBJECT_STEMS = [
  "instruction",
  "prompt",
  "rule",
  "direction",
  "directive",
  "guideline",
  "guidance",
  "context",
  "constraint",
  "programming",
  "guardrail",
  "restriction",
  "command",
  "order",
  "polic",
];
const OBJECTS =
  "(?:instructions?|prompts?|rules|directions?|directives?|guidelines|guidance|context|constraints|programming|guardrails|restrictions|commands|orders|polic(?:y|ies))";
const AI_WORDS = ["ai", "ais", "assistant", "llm", "language", "model", "agent", "chatbot", "bot"];
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

const SIGNALS: readonly Signal[] = [
  // — instruction override
  sig(
    "override_previous",
    "override",
    0.85,
    [OVERRIDE_VERBS, OBJECT_STEMS],
    `\\b(?:ignore|disregard|forget|override|bypass|skip|neglect|abandon|discard|drop)\\b${S}{0,30}?\\b(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|existing|all)\\b${S}{0,20}?\\b${OBJECTS}\\b`,
  ),
  sig(
    "override_rules",
    "override",
    0.55,
    [
      OVERRIDE_VERBS,
      ["instruction", "rule", "guideline", "directive", "programming", "guardrail", "restriction", "polic", "filter"],
    ],
    `\\b(?:ignore|disregard|forget|override|bypass|circumvent|evade)\\b${S}{0,25}?\\b(?:instructions|rules|guidelines|directives|programming|guardrails|restrictions|safety (?:rules|guidelines|polic(?:y|ies)|filters?|measures)|content polic(?:y|ies)|filters)\\b`,
  ),
  sig(
    "forget_everything",
    "override",
    0.7,
    [
      ["forget", "disregard", "ignor"],
      ["everything", "all", "what"],
    ],
    `\\b(?:forget|disregard|ignore) (?:everything|all(?: of)? (?:that|this|the above)|what) (?:you (?:were|have been) told|above|before|i said)`,
  ),
  sig(
    "new_instructions",
    "override",
    0.45,
    [
      ["new", "updated", "real", "actual", "revised"],
      ["instruction", "rule", "directive", "task", "order"],
    ],
    `\\b(?:new|updated|real|actual|revised) (?:system )?(?:instructions|rules|directives|task|orders)\\s*(?::|are\\b|is\\b)`,
  ),
  sig("from_now_on", "override", 0.3, [["now"], ["from now on"]], `\\bfrom now on\\b`),
  sig(
    "you_are_now",
    "override",
    0.5,
    [["you"], ["now", "allowed", "permitted", "authori"]],
    `\\byou (?:must|will|shall) now\\b|\\byou are now (?:free|allowed|able|in|unrestricted|dan|an?)\\b|\\byou are (?:now )?(?:allowed|permitted|authori[sz]ed) to\\b`,
  ),
  sig(
    "do_not_follow",
    "override",
    0.55,
    [
      ["follow", "obey", "adhere", "respect", "comply"],
      ["not", "don't", "stop", "longer"],
    ],
    `\\b(?:do not|don't|stop|no longer) (?:follow|obey|adhere to|respect|comply with)\\b${S}{0,20}?\\b(?:instructions|rules|guidelines|policies|programming|restrictions)\\b`,
  ),
  sig(
    "instructions_void",
    "override",
    0.6,
    [["obsolete", "void", "revoked", "cancel", "invalid", "overridden", "valid", "replaced", "outdated"]],
    `\\b(?:instructions|rules|guidelines|prompt)\\b${S}{0,40}?\\b(?:are|is|have been|has been|were) (?:now )?(?:obsolete|void|revoked|cancell?ed|invalid|overridden|no longer valid|replaced|outdated)\\b`,
  ),
  sig(
    "system_override",
    "override",
    0.45,
    [["overrid", "maintenance"]],
    `\\bsystem override\\b|\\boverride\\s*:|\\badmin(?:istrator)? override\\b|\\bmaintenance mode\\b`,
  ),
  sig(
    "unconditional",
    "override",
    0.4,
    [["comply", "exactly", "mine", "without", "filtering", "with"]],
    `\\bcomply with (?:every|all|any|the following)\\b|\\bdo exactly what i say\\b|\\bfollow mine instead\\b|\\bwithout any (?:restrictions|filter(?:s|ing)?|limits|censorship)\\b|\\bno filtering\\b|\\bwith no (?:filter(?:s|ing)?|restrictions|limits|censorship)\\b`,
  ),
  sig(
    "ignore_user",
    "override",
    0.45,
    [
      ["ignor", "disregard"],
      ["question", "request", "query", "task"],
    ],
    `\\b(?:ignore|disregard) (?:the |this |that |any |all )?(?:user'?s?|above|original|actual)? ?(?:question|request|query|task)\\b`,
  ),
  // — system-prompt extraction
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
  // — role-play jailbreaks
  sig(
    "dan",
    "roleplay",
    0.7,
    [["dan", "anything", "stan"]],
    `\\bdo anything now\\b|\\bdan\\b(?=${S}{0,60}\\b(?:restrictions|rules|anything|jailbr|mode|stands for|character)\\b)|\\bstan\\b ?,? who\\b`,
    true,
  ),
  sig(
    "no_restrictions_persona",
    "roleplay",
    0.6,
    [
      ["pretend", "act", "imagine", "roleplay", "role", "play", "behave", "respond", "answer"],
      ["restriction", "filter", "limit", "rule", "guideline", "ethic", "moral", "censor", "polic", "safety"],
    ],
    `\\b(?:pretend|act|imagine|roleplay|role-play|play the role|behave|respond|answer)\\b${S}{0,40}?\\b(?:no|without|free of|free from|zero)\\b${S}{0,20}?\\b(?:restrictions|filters?|limits|rules|guidelines|ethics|ethical guidelines|morals|censorship|content polic(?:y|ies)|safety)\\b`,
  ),
  sig(
    "unrestricted_ai",
    "roleplay",
    0.6,
    [AI_WORDS, ["no", "without", "free", "never"]],
    `\\b(?:you are|you're|as|be|become)\\b (?:an? |the )?(?:[a-z]+ ){0,2}?(?:ai|model|assistant|chatbot|bot|llm)\\b,? (?:with no|without(?: any)?|that has no|free of|free from|that never refuses)\\b`,
  ),
  sig(
    "unfiltered_words",
    "roleplay",
    0.4,
    [["unfiltered", "uncensored", "unrestricted", "amoral", "unethical", "unhinged", "jailbr", "no"]],
    `\\b(?:unfiltered|uncensored|unrestricted|amoral|unethical|unhinged|jailbroken|jailbreak|no moral|no ethical)\\b`,
    true,
  ),
  sig(
    "special_mode",
    "roleplay",
    0.5,
    [["mode"]],
    `\\b(?:enable|activate|switch to|enter|entering|turn on|in|now in)\\b (?:the )?(?:developer|dev|god|debug|sudo|admin|unrestricted|dan|evil|opposite|jailbreak|unfiltered) mode\\b`,
    true,
  ),
  sig(
    "freed",
    "roleplay",
    0.55,
    [["freed", "liberated", "unchained", "jailbroken", "unlocked", "released", "free", "broken", "break"]],
    `\\byou (?:have been|are now|were|are) (?:freed|liberated|unchained|jailbroken|unlocked|released)\\b|\\b(?:broken|break|breaking) free\\b|\\bfree from (?:the )?(?:rules|restrictions|constraints|confines)\\b`,
  ),
  sig(
    "stay_in_character",
    "roleplay",
    0.35,
    [
      ["character", "never"],
      ["stay", "refuse", "say", "break", "mention"],
    ],
    `\\bstay in character\\b|\\bnever (?:refuse|refuses|say no|break character)\\b|\\bnever mentions? (?:safety|ethics|polic)`,
    true,
  ),
  sig(
    "dual_response",
    "roleplay",
    0.45,
    [["twice", "two", "once", "sure", "start"]],
    `\\b(?:respond|answer|reply) (?:twice|two times|in two ways)\\b|\\bonce as yourself\\b|\\bsure,? (?:here is|unrestricted)\\b|\\bstart (?:every|each) (?:answer|response|reply) with\\b`,
  ),
  sig(
    "no_longer_ai",
    "roleplay",
    0.45,
    [["longer", "bound", "restricted"]],
    `\\byou are no longer (?:an? )?(?:ai|assistant|chatgpt|claude|bound|restricted|a language model)\\b|\\byou are not (?:bound|restricted) by\\b`,
  ),
  sig(
    "persona",
    "roleplay",
    0.3,
    [["pretend", "act", "roleplay", "role", "imagine", "play"]],
    `\\b(?:pretend|act as|roleplay as|role-play as|imagine you are|let'?s play a game)\\b`,
    true,
  ),
  sig(
    "grandma",
    "roleplay",
    0.3,
    [["grand"]],
    `\\b(?:deceased|late|dead) (?:grandmother|grandma|grandfather|grandpa)\\b`,
  ),
  sig(
    "harmful_recipe",
    "roleplay",
    0.3,
    [["napalm", "meth", "bomb", "explosive", "weapon", "break"]],
    `\\b(?:how to|steps to) (?:make|build|synthesi[sz]e|cook) (?:napalm|meth|a bomb|explosives|a weapon)\\b|\\bbreak into a (?:house|car|home)\\b`,
  ),
  sig(
    "ai_norms",
    "roleplay",
    0.45,
    [["norms", "confines", "limitations"]],
    `\\b(?:norms|confines|limitations) of (?:ai|typical ai|your programming)\\b|\\btypical confines\\b`,
  ),
  // — encoded / obfuscated payload instructions
  sig(
    "decode_and_follow",
    "encoded",
    0.45,
    [
      ["decod", "decipher", "rot13", "unscramble", "translat", "convert", "execut"],
      ["follow", "execut", "obey", "says", "run", "comply", "act", "decoding"],
    ],
    `\\b(?:decode|decipher|rot13|unscramble|translate|convert)\\b${S}{0,50}?\\b(?:and|then)\\b${S}{0,10}?\\b(?:follow|execute|obey|do (?:what|as) it says|run|comply|act on)\\b|\\bexecute (?:it|the following|this) after decoding\\b|\\bplease execute it\\b`,
  ),
  // — tool / indirect injection markers
  sig(
    "chat_tokens",
    "indirect",
    0.4,
    [["<|", "[inst]", "[/inst]", "<<sys>>", "<</sys>>"]],
    `<\\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\\|>|\\[\\/?inst\\]|<<\\/?sys>>`,
    true,
  ),
  sig(
    "note_to_ai",
    "indirect",
    0.55,
    [
      AI_WORDS,
      [
        "note",
        "message",
        "instruction",
        "attention",
        "important",
        "if",
        "reading",
        "processing",
        "parsing",
        "summari",
        "viewing",
        "must",
        "should",
        "needs",
      ],
    ],
    `\\b(?:note|message|instructions?|attention|important)\\b${S}{0,12}?\\bto (?:the |any |all )?(?:ai|assistant|llm|language model|model|agent|chatbot|bot)s?\\b|\\bif you are an? (?:ai|llm|language model|assistant|bot|agent|large language model)\\b|\\b(?:ai|llm|language model|assistant)s? (?:reading|processing|parsing|summari[sz]ing|viewing) this\\b|\\b(?:ai|llm) (?:agents?|assistants?) must\\b|\\binstructions? for the (?:llm|ai|model|assistant)\\b|\\bthe (?:ai|assistant|model|llm) (?:must|should|needs to)\\b`,
  ),
  sig(
    "exfiltrate",
    "indirect",
    0.55,
    [
      ["exfiltrat", "send", "forward", "email", "post", "upload", "transmit", "copy"],
      [
        "exfiltrat",
        "history",
        "conversation",
        "credential",
        "api",
        "password",
        "secret",
        "token",
        "emails",
        "personal",
        "user",
        "contents",
        "ssh",
        "private",
      ],
    ],
    `\\bexfiltrat|\\b(?:send|forward|email|post|upload|transmit|copy)\\b${S}{0,40}?\\b(?:chat history|conversation|credentials|api keys?|passwords?|secrets|tokens|emails|personal data|user'?s? data|contents of|\\.ssh|private keys?)${S}{0,40}?\\b(?:to|into)\\b`,
  ),
  sig(
    "covert_tool_call",
    "indirect",
    0.45,
    [
      ["tool", "function", "secretly"],
      ["call", "invok", "run", "execut", "trigger", "secretly"],
    ],
    `\\b(?:call|invoke|run|execute|trigger)\\b (?:the )?[a-z0-9_.-]{0,40} ?(?:tool|function)\\b${S}{0,60}?\\b(?:without (?:asking|telling|confirming|permission)|now|secretly|immediately)\\b|\\bsecretly (?:call|invoke|run|execute|send|use)\\b`,
  ),
  sig(
    "hide_from_user",
    "indirect",
    0.5,
    [
      ["user", "mention"],
      ["tell", "inform", "mention", "alert", "notif"],
    ],
    `\\b(?:do not|don't|never|without) (?:tell|telling|inform|informing|mention|mentioning|alert|alerting|notify|notifying)(?: this)?(?: to)? (?:the )?user\\b|\\bdo not mention this\\b|\\bnot tell the user\\b`,
  ),
  sig(
    "role_marker",
    "indirect",
    0.45,
    [["system", "assistant", "developer"], [":"]],
    `(?:^|[\\n"'>])[ ]?(?:#{1,4} ?)?(?:system|assistant|developer) ?:`,
  ),
  sig(
    "fake_tags",
    "indirect",
    0.5,
    [
      ["<"],
      [
        "system",
        "instruction",
        "sys",
        "admin",
        "developer",
        "document",
        "context",
        "tool_result",
        "tool_output",
        "search_result",
      ],
    ],
    `<\\/?(?:system|instructions?|sys|admin|developer)>|<\\/(?:document|context|tool_result|tool_output|search_result)>`,
  ),
  sig(
    "markdown_exfil",
    "indirect",
    0.45,
    [["]("]],
    `!\\[[^\\]\\n]{0,50}\\]\\(https?:\\/\\/[^)\\s]{1,200}?[?&][^)\\s=]{1,30}=[^)\\s]{0,60}?(?:\\{|%7b|\\$)`,
  ),
  sig(
    "html_comment_instruction",
    "indirect",
    0.3,
    [["<!--"]],
    `<!--[^>]{0,300}?\\b(?:ai|assistant|llm|ignore|instructions?)\\b`,
  ),
];

/**
 * One pass finds which hint stems occur (a single alternation regex is far
 * cheaper than dozens of `includes`); hints with other characters use `includes`.
 */
const STEMS = [...new Set(SIGNALS.flatMap((s) => s.need.flat()).filter((h) => /^[a-z0-9']+$/.test(h)))].sort(
  (a, b) => b.length - a.length,
);
const STEM_RE = new RegExp(`\\b(?:${STEMS.join("|")})`, "g");
/** A found stem also satisfies every shorter stem it starts with ("your" ⇒ "you"). */
const PREFIXES = new Map(STEMS.map((s) => [s, STEMS.filter((t) => t !== s && s.startsWith(t))]));

function stemsIn(text: string): Set<string> {
  const found = new Set<string>();
  STEM_RE.lastIndex = 0;
  for (let m = STEM_RE.exec(text); m; m = STEM_RE.exec(text)) {
    if (found.has(m[0])) continue;
    found.add(m[0]);
    for (const p of PREFIXES.get(m[0]) ?? []) found.add(p);
  }
  return found;
}

const wanted = (s: Signal, stems: Set<string>, text: string) =>
  s.need.every((group) => group.some((h) => (/^[a-z0-9']+$/.test(h) ? stems.has(h) : text.includes(h))));

/** Talking about attacks rather than making one. */
const META =
  /\b(?:phrases? like|such as|for example|examples? of|(?:injection|jailbreak|prompt) (?:filter|detector|classifier)|detect(?:ion|ing)?|defend|false positives?|security training|red[- ]team|at a high level|high level)\b/;
const QUESTION = /^(?:what|how|why|where|when|which|explain|is|are|does|do|can you explain|in [a-z]+,)\b/;

export const MAX_DEPTH = 2;

export interface InjectionResult {
  score: number;
  families: InjectionFamily[];
  signals: string[];
  /** The strongest signal's matched phrase (normalised, ≤ 80 chars). */
  excerpt: string;
}

function scoreNormalized(raw: string): InjectionResult {
  const n = normalizeForInjection(raw);
  const text = n.text;
  let keep = 1;
  const signals: string[] = [];
  const families = new Set<InjectionFamily>();
  let best = { w: 0, excerpt: "" };
  const stems = stemsIn(text);
  let question: boolean | undefined;
  for (const s of SIGNALS) {
    if (!wanted(s, stems, text)) continue;
    const m = s.re.exec(text);
    if (!m) continue;
    let w = s.weight;
    if (s.mention && (question ??= QUESTION.test(text.trimStart()))) w *= 0.6;
    keep *= 1 - w;
    signals.push(s.id);
    families.add(s.family);
    if (w > best.w) best = { w, excerpt: m[0] };
  }
  const evidence: Array<[string, number, boolean]> = [
    ["zero_width", 0.2, n.zeroWidth],
    ["confusables", 0.2, n.confusables],
    ["leetspeak", 0.15, n.leet],
    ["spaced_letters", 0.15, n.spaced],
  ];
  if (signals.length) {
    for (const [id, w, on] of evidence) {
      if (!on) continue;
      keep *= 1 - w;
      signals.push(id);
      families.add("encoded");
    }
  }
  let score = 1 - keep;
  if (score > 0 && META.test(text)) score *= 0.5;
  return { score, families: [...families], signals, excerpt: best.excerpt.trim().slice(0, 80) };
}

/** Scores one text (message content, tool result…) for prompt injection. */
export function scoreInjection(text: string): InjectionResult {
  const top = scoreNormalized(text);
  // Decoded payloads: a work list instead of recursion, bounded by MAX_DEPTH.
  let frontier = [text];
  for (let depth = 1; depth <= MAX_DEPTH && frontier.length; depth++) {
    const next: string[] = [];
    for (const t of frontier) {
      for (const decoded of decodeBlobs(t)) {
        const r = scoreNormalized(decoded);
        if (r.score > 0) {
          // Hiding an instruction in an encoding is evidence in itself.
          const s = Math.min(1, r.score + 0.15);
          if (s > top.score) {
            top.score = s;
            top.excerpt = r.excerpt;
          }
          top.signals.push(`decoded:${r.signals.join("+")}`);
          if (!top.families.includes("encoded")) top.families.push("encoded");
        }
        next.push(decoded);
      }
    }
    frontier = next;
  }
  top.score = Math.round(top.score * 1000) / 1000;
  return top;
}

/** The injection heuristics as a Detector: one match spanning the text when score ≥ threshold. */
export function injectionDetector(threshold: number): Detector {
  return {
    id: "prompt_injection",
    maxLength: Number.POSITIVE_INFINITY,
    scan(text): Match[] {
      const r = scoreInjection(text);
      return r.score >= threshold
        ? [{ type: "prompt_injection", subtype: r.families.join(","), start: 0, end: text.length, score: r.score }]
        : [];
    },
  };
}
