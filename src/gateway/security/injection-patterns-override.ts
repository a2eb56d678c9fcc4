/** Prompt-injection signals for instruction override ("ignore previous instructions", "new rules:", …). */
import { S, type Signal, sig } from "./injection-signal.js";

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

export const OVERRIDE_SIGNALS: readonly Signal[] = [
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
];
