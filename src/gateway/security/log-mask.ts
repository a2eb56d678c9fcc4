/**
 * What the request log keeps of bodies (projects with `logBodies`): every
 * member of the project reads, searches and exports the log, so it must never
 * hold what the policy protects. Invariants:
 * - Every string of the body is rendered for the log (engine.renderLog):
 *   redacted values as the provider's placeholder, masked or blocked ones and
 *   every recognised secret masked like an incident excerpt; object keys
 *   included; tool-call `arguments` JSON-aware, so they still parse.
 * - Strings the input scan already rendered (`logged`) are reused, never
 *   scanned again; only the rest of the body (tool definitions, metadata,
 *   Anthropic text blocks the canonical request joined…) is scanned here.
 * - The answer is what the client received, after the output scanner: only
 *   what it may still carry raw is rewritten (`answerEntries`: secrets the
 *   policy lets through, values restored from placeholders).
 * - A value nothing changes comes back as the same object (the caller then
 *   stores the JSON text it already holds); a change copies only the
 *   containers on its path. The walk is iterative (any depth).
 */
import type { LogMasker } from "../hooks.js";
import { collectHits, logHits, PlaceholderRegistry, renderLog, SECRET_LOG_ENTRY, type Entry } from "./engine.js";
import { bufferedChannel, scanJsonArgs } from "./json-args.js";

export function createLogMasker(opts: {
  /** Rendered over the request body (the policy's entries, plus secrets when the policy has them off). */
  entries: readonly Entry[];
  /** Rendered over the answer; none: the answer is kept as the client received it. */
  answerEntries: readonly Entry[];
  /** Log renderings the input scan recorded (scanner.ts `LoggedStrings`). */
  logged?: ReadonlyMap<string, string>;
  registry?: PlaceholderRegistry;
}): LogMasker {
  const registry = opts.registry ?? new PlaceholderRegistry();
  const { logged } = opts;
  const renderer = (entries: readonly Entry[]) => {
    const plain = (text: string, from = 0) =>
      renderLog(
        text,
        logHits(collectHits(text, entries)).filter((h) => h.match.start >= from),
        from,
        text.length,
        registry,
      );
    return (text: string, key: string | undefined) =>
      key === "arguments"
        ? scanJsonArgs(text, (context) => bufferedChannel((s) => plain(context + s, context.length)))
        : plain(text);
  };
  const request = renderer(opts.entries);
  const answer = opts.answerEntries.length ? renderer(opts.answerEntries) : null;
  return {
    request: (body) => mapJsonStrings(body, (s, key) => logged?.get(s) ?? request(s, key)),
    response: (body) => (answer ? mapJsonStrings(body, answer) : body),
  };
}

/** The floor when no policy is at hand: recognised secrets masked, nothing else touched. */
export const secretsLogMasker: LogMasker = createLogMasker({
  entries: [SECRET_LOG_ENTRY],
  answerEntries: [SECRET_LOG_ENTRY],
});

interface Node {
  src: object;
  copy: Record<string | number, unknown> | null;
  parent: Node | null;
  key: string | number;
}

/**
 * `fn` applied to every string of a JSON value — values (with their property name) and object keys;
 * the value itself when nothing changed, else a copy sharing every unchanged container.
 */
export function mapJsonStrings(root: unknown, fn: (text: string, key: string | undefined) => string): unknown {
  if (typeof root === "string") return fn(root, undefined);
  if (root === null || typeof root !== "object") return root;
  const top: Node = { src: root, copy: null, parent: null, key: "" };
  // Copies a container, and the ancestors not copied yet, the first time something inside it changes.
  const writable = (n: Node) => {
    const chain: Node[] = [];
    for (let c: Node | null = n; c && !c.copy; c = c.parent) chain.push(c);
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i]!;
      c.copy = (Array.isArray(c.src) ? [...c.src] : { ...c.src }) as Record<string | number, unknown>;
      if (c.parent) c.parent.copy![c.key] = c.copy;
    }
    return n.copy!;
  };
  const stack: Node[] = [top];
  const visit = (parent: Node, key: string | number, value: unknown) => {
    if (typeof value === "string") {
      const out = fn(value, typeof key === "string" ? key : undefined);
      if (out !== value) writable(parent)[key] = out;
    } else if (value !== null && typeof value === "object") stack.push({ src: value, copy: null, parent, key });
  };
  while (stack.length) {
    const n = stack.pop()!;
    if (Array.isArray(n.src)) {
      n.src.forEach((v, i) => {
        visit(n, i, v);
      });
      continue;
    }
    for (const [k, v] of Object.entries(n.src)) {
      const name = fn(k, undefined);
      if (name !== k) {
        const w = writable(n);
        delete w[k];
        w[name] = v;
      }
      visit(n, name, v);
    }
  }
  return top.copy ?? root;
}
