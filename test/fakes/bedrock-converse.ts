/**
 * The Converse API as the Bedrock fake reads it: Bedrock's own validation of
 * a Converse request (a user turn first, alternating roles, known blocks,
 * toolResults answering the previous turn's toolUse ids, toolConfig present
 * with tool blocks, inferenceConfig in range) and the provider-neutral View
 * (script.ts) the fake's deterministic model answers.
 */
import type { View } from "./script.js";

/** Bedrock's Converse validation; the message of the ValidationException, or undefined. */
export function validateConverse(b: any): string | undefined {
  const msgs = b?.messages;
  if (!Array.isArray(msgs) || !msgs.length)
    return "The model returned the following errors: messages: at least one message is required";
  if (msgs[0].role !== "user")
    return "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
  let toolBlocks = false;
  let lastToolUses = new Set<string>();
  for (const [i, m] of msgs.entries()) {
    if (i > 0 && msgs[i - 1].role === m.role)
      return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";
    if (!Array.isArray(m.content) || !m.content.length)
      return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    const uses = new Set<string>();
    for (const c of m.content) {
      const keys = Object.keys(c);
      if (keys.length !== 1 || !["text", "image", "document", "toolUse", "toolResult"].includes(keys[0]!))
        return `Malformed content block at messages.${i}: ${keys.join(",")}`;
      if (c.toolUse) {
        toolBlocks = true;
        if (m.role !== "assistant") return "Tool use blocks are only allowed in assistant messages.";
        if (typeof c.toolUse.input !== "object" || Array.isArray(c.toolUse.input))
          return "toolUse.input must be an object";
        uses.add(c.toolUse.toolUseId);
      }
      if (c.toolResult) {
        toolBlocks = true;
        if (!lastToolUses.has(c.toolResult.toolUseId))
          return `The toolResult blocks at messages.${i}.content contain toolUseIds that do not match the toolUse blocks of the previous turn.`;
      }
      if (
        c.image &&
        (!["png", "jpeg", "gif", "webp"].includes(c.image.format) || typeof c.image.source?.bytes !== "string")
      )
        return "Invalid image block";
    }
    lastToolUses = uses;
  }
  if (toolBlocks && !b.toolConfig)
    return "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
  const max = b.inferenceConfig?.maxTokens;
  if (max !== undefined && (!Number.isInteger(max) || max < 1))
    return "The value at inferenceConfig.maxTokens must be at least 1";
  const t = b.inferenceConfig?.temperature;
  if (t !== undefined && (t < 0 || t > 1)) return "The value at inferenceConfig.temperature must be between 0 and 1";
  for (const tool of b.toolConfig?.tools ?? [])
    if (!tool.toolSpec?.name || typeof tool.toolSpec?.inputSchema?.json !== "object") return "Invalid toolSpec";
  return undefined;
}

const textOf = (content: any[]) =>
  content
    .filter((c) => typeof c.text === "string")
    .map((c) => c.text)
    .join("");

export function viewFromConverse(b: any): View {
  const msgs: any[] = b.messages;
  const system = (b.system ?? []).map((s: any) => s.text ?? "").join("\n\n");
  const users = msgs.filter((m) => m.role === "user" && m.content.some((c: any) => !c.toolResult));
  const last = msgs[msgs.length - 1];
  const toolResults = last.content
    .filter((c: any) => c.toolResult)
    .map((c: any) => c.toolResult.content.map((x: any) => x.text ?? JSON.stringify(x.json)).join(""));
  let image: string | undefined;
  for (const m of users) for (const c of m.content) image ??= c.image ? `image/${c.image.format}` : undefined;
  const tc = b.toolConfig?.toolChoice;
  return {
    system,
    userTurns: users.length,
    lastUserText: users.length ? textOf(users[users.length - 1].content) : "",
    toolResults,
    tools: (b.toolConfig?.tools ?? []).map((t: any) => ({
      name: t.toolSpec.name,
      schema: t.toolSpec.inputSchema.json,
    })),
    toolChoice: tc?.any ? "required" : tc?.tool ? { name: tc.tool.name } : "auto",
    parallel: true,
    wantsJson: false,
    image,
    stop: b.inferenceConfig?.stopSequences ?? [],
    maxTokens: b.inferenceConfig?.maxTokens,
    totalChars: system.length + msgs.reduce((s, m) => s + textOf(m.content).length, 0),
  };
}
