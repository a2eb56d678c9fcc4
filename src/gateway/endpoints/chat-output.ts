/**
 * The output scanner applied to a chat answer: a whole response (text and
 * tool-call arguments), or a stream's tool-call argument fragments, which are
 * held back per call so each call's fragments stay in order and never
 * interleave with another block.
 */
import type { OutputScanner } from "../hooks.js";
import { type ChatResponse, contentText, type ToolCallDelta } from "../types.js";

export function scanWhole(res: ChatResponse, scanner: OutputScanner) {
  for (const choice of res.choices) {
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
