/**
 * Aborting one gateway request's upstream work (client gone, shutdown deadline).
 * AbortController does the job, but it is an EventTarget: creating its signal
 * and adding/removing listeners cost more than the rest of a request's
 * bookkeeping. `CallAbort` is the same one-shot contract without that; a real
 * AbortSignal (e.g. `AbortSignal.timeout`) still satisfies `CallSignal`.
 */

/** The part of AbortSignal the gateway's upstream calls use. */
export interface CallSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export class CallAbort implements CallSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> = [];

  get signal(): CallSignal {
    return this;
  }

  /** Aborts once: every listener runs (once), later calls do nothing. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException("This operation was aborted", "AbortError");
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) {
      try {
        l();
      } catch (err) {
        // As EventTarget does: a throwing listener does not stop the others; the error is reported.
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  /** Listeners are one-shot by nature here (abort happens once); none is added after the abort, as with AbortSignal. */
  addEventListener(_type: "abort", listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i !== -1) this.listeners.splice(i, 1);
  }
}
