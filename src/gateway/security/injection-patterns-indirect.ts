/**
 * Prompt-injection signals for instructions carried inside data: requests to
 * decode-and-obey an encoded payload, and tool-result / document markers aimed
 * at the model (fake chat tokens and tags, exfiltration, hidden tool calls).
 */
import { AI_WORDS, S, type Signal, sig } from "./injection-signal.js";

export const ENCODED_SIGNALS: readonly Signal[] = [
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
];

export const INDIRECT_SIGNALS: readonly Signal[] = [
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
