import { describe, expect, it } from "vitest";
import { CallAbort } from "./abort.js";

describe("CallAbort", () => {
  it("runs each listener once, in order, with the reason set before they run", () => {
    const a = new CallAbort();
    const seen: string[] = [];
    a.signal.addEventListener("abort", () => seen.push(`one:${String(a.signal.reason)}`));
    a.signal.addEventListener("abort", () => seen.push("two"));
    expect(a.signal.aborted).toBe(false);
    a.abort("bye");
    a.abort("again");
    expect(seen).toEqual(["one:bye", "two"]);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe("bye");
  });

  it("skips removed listeners, never calls one added after the abort, and gives an AbortError without a reason", () => {
    const a = new CallAbort();
    let calls = 0;
    const l = () => calls++;
    a.signal.addEventListener("abort", l);
    a.signal.removeEventListener("abort", l);
    a.abort();
    a.signal.addEventListener("abort", l);
    expect(calls).toBe(0);
    expect((a.signal.reason as DOMException).name).toBe("AbortError");
  });

  it("a throwing listener does not stop the others; the error is reported, not swallowed", async () => {
    const a = new CallAbort();
    let second = false;
    a.signal.addEventListener("abort", () => {
      throw new Error("listener failed");
    });
    a.signal.addEventListener("abort", () => (second = true));
    const reported = new Promise<Error>((resolve) => process.once("uncaughtException", resolve));
    a.abort();
    expect(second).toBe(true);
    expect((await reported).message).toBe("listener failed");
  });
});
