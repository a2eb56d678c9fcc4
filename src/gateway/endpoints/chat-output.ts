/**
 * The output scanner applied to a chat answer: a whole response (reasoning,
 * text and tool-call arguments), or a stream's reasoning and tool-call
 * argument fragments, each held back in its own run (reasoning per choice,
 * arguments per call) so held text never moves into another block.
 * Reasoning the scan changed loses its signature: the provider refuses a
 * changed, signed reasoning when it comes back on the next turn.
 */
import type { OutputScanner } from "../hooks.js";
import { type ChatChunk, type ChatResponse, contentText, type ToolCallDelta } from "../types.js";

/** Scanner keys of reasoning text: apart from the answer text's (the choice index). */
const REASONING_KEY = 1_000_000;

export function scanWhole(res: ChatResponse, scanner: OutputScanner) {
  for (const choice of res.choices) {
    const m = choice.message;
    if (typeof m.reasoning_content === "string" && m.reasoning_content) {
      const key = REASONING_KEY + choice.index;
      const scanned = scanner.push(m.reasoning_content, key) + scanner.end(key);
      if (scanned !== m.reasoning_content) {
        m.reasoning_content = scanned;
        delete m.reasoning_signature;
      }
    }
    const text = contentText(choice.message.content);
    if (text) choice.message.content = scanner.push(text, choice.index) + scanner.end(choice.index);
    const calls = choice.message.tool_calls;
    if (!calls?.length || !scanner.pushArgs || !scanner.endArgs) continue;
    choice.message.tool_calls = calls.map((call, j) => {
      const args = call.function?.arguments;
      if (typeof args !== "string" || !args) return call;
      const scanned = scanner.pushArgs!(args, choice.index, j) + scanner.endArgs!(choice.index, j);
      return scanned === args ? call : { ...call, function: { ...call.function, arguments: scanned } };
    });
  }
}

/**
 * Streamed tool-call argument fragments through the output scanner, per choice
 * and tool-call index. A call's held-back arguments are released when the
 * next call of its choice starts (before it, in the same chunk), when text
 * follows, or at the finish.
 */
export class StreamToolArgs {
  /** Per choice, the tool call whose arguments may still be held back. */
  private readonly open = new Map<number, number>();
  constructor(private readonly scanner: Required<OutputScanner>) {}

  push(choice: number, deltas: ToolCallDelta[]): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    for (const d of deltas) {
      if (this.open.get(choice) !== d.index) {
        out.push(...this.endAll(choice));
        this.open.set(choice, d.index);
      }
      const args = d.function?.arguments;
      out.push(
        typeof args === "string" && args
          ? { ...d, function: { ...d.function, arguments: this.scanner.pushArgs(args, choice, d.index) } }
          : d,
      );
    }
    return out;
  }

  /** Releases the held-back arguments of the choice's open call, as a delta. */
  endAll(choice: number): ToolCallDelta[] {
    const index = this.open.get(choice);
    if (index === undefined) return [];
    this.open.delete(choice);
    const tail = this.scanner.endArgs(choice, index);
    return tail ? [{ index, function: { arguments: tail } }] : [];
  }

  choices(): number[] {
    return [...this.open.keys()];
  }
}

/** Streamed reasoning (`delta.reasoning_content`) through the output scanner, per choice. */
export class StreamReasoning {
  /** Per choice still reasoning: the text as received and as sent. */
  private readonly open = new Map<number, { raw: string; sent: string }>();
  /** Per choice whose reasoning ended: whether the scan changed it (its signature is then dropped). */
  private readonly changed = new Map<number, boolean>();
  constructor(private readonly scanner: OutputScanner) {}

  /**
   * Scans one choice delta's reasoning in place. The reasoning ends — what was held back is released in
   * this delta — when the answer starts (text, tool calls), at its signature, or at the finish.
   */
  apply(choice: ChatChunk["choices"][number]): void {
    const d = choice.delta;
    const key = REASONING_KEY + choice.index;
    if (typeof d.reasoning_content === "string" && d.reasoning_content) {
      const run = this.open.get(choice.index) ?? { raw: "", sent: "" };
      this.open.set(choice.index, run);
      run.raw += d.reasoning_content;
      d.reasoning_content = this.scanner.push(d.reasoning_content, key);
      run.sent += d.reasoning_content;
    }
    if (d.content || d.tool_calls?.length || d.reasoning_signature || choice.finish_reason) {
      const tail = this.end(choice.index);
      if (tail) d.reasoning_content = (d.reasoning_content ?? "") + tail;
    }
    if (d.reasoning_signature && this.changed.get(choice.index)) delete d.reasoning_signature;
  }

  /** Ends a choice's reasoning: what the scanner still held back ("" when none). */
  end(index: number): string {
    const run = this.open.get(index);
    if (!run) return "";
    this.open.delete(index);
    const tail = this.scanner.end(REASONING_KEY + index);
    this.changed.set(index, run.raw !== run.sent + tail);
    return tail;
  }

  /** Choices whose reasoning may still be held back. */
  choices(): number[] {
    return [...this.open.keys()];
  }
}
