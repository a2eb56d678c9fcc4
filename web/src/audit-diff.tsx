/**
 * What an audit entry changed, shown when the entry is expanded: the fields that differ between
 * its before and after (`before`/`after`, `changes`, or a `from`/`to` pair), one line each,
 * "field: old → new", nested values pretty-printed and folded. Entries without a before and after
 * show their details (metadata) instead. Audit rows never hold a secret, so everything is shown.
 */
import { Code, Group, Stack, Text } from "@mantine/core";
import type { AuditLogEntry, Person } from "./api-audit";
import { words } from "./audit-sentences";

interface Change {
  field: string;
  from: unknown;
  to: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonical(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : isObject(x)
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, sort(x[k])]),
          )
        : x;
  return JSON.stringify(sort(v)) ?? "undefined";
}

const differs = (c: Change) => canonical(c.from) !== canonical(c.to);

/** The entry's changed fields, or null when it carries no before and after. */
export function changesOf(e: AuditLogEntry, people: Record<string, Person>): Change[] | null {
  const m = e.metadata;
  if (isObject(m.before) && isObject(m.after)) {
    const { before, after } = m;
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return fields.map((field) => ({ field, from: before[field], to: after[field] })).filter(differs);
  }
  if (isObject(m.changes)) {
    return Object.entries(m.changes)
      .filter((kv): kv is [string, Record<string, unknown>] => isObject(kv[1]))
      .map(([field, c]) => ({ field, from: c.from, to: c.to }))
      .filter(differs);
  }
  if (e.action === "member.role_changed") return [{ field: "role", from: m.from, to: m.to }];
  if (e.action === "org.ownership_transferred") {
    const name = (id: unknown) => (typeof id === "string" ? (people[id]?.name ?? id) : id);
    return [{ field: "owner", from: name(m.from), to: name(m.to) }];
  }
  return null;
}

function Value({ v }: { v: unknown }) {
  if (v === null || v === undefined)
    return (
      <Text span c="dimmed">
        none
      </Text>
    );
  if (typeof v !== "object") return <Code>{String(v)}</Code>;
  const short = canonical(v);
  if (short.length <= 60) return <Code>{short}</Code>;
  const summary = Array.isArray(v) ? `${v.length} items` : `${Object.keys(v).length} fields`;
  return (
    <details style={{ display: "inline-block", verticalAlign: "top" }}>
      <summary style={{ cursor: "pointer" }}>{summary}</summary>
      <Code block>{JSON.stringify(v, null, 2)}</Code>
    </details>
  );
}

export function AuditDetails({ entry, people }: { entry: AuditLogEntry; people: Record<string, Person> }) {
  const changes = changesOf(entry, people);
  return (
    <Stack gap="xs" py="xs">
      {changes ? (
        <Stack gap={4} data-testid="audit-diff" aria-label="What changed">
          {changes.length === 0 ? (
            <Text size="sm" c="dimmed">
              Nothing changed.
            </Text>
          ) : (
            changes.map((c) => (
              <Group key={c.field} gap={6} align="flex-start" wrap="wrap" data-testid="audit-change">
                <Text size="sm" fw={500}>
                  {words(c.field)}:
                </Text>
                <Value v={c.from} />
                <Text size="sm" aria-label="changed to">
                  →
                </Text>
                <Value v={c.to} />
              </Group>
            ))
          )}
        </Stack>
      ) : Object.keys(entry.metadata).length > 0 ? (
        <details data-testid="audit-metadata" open>
          <summary style={{ cursor: "pointer" }}>Details</summary>
          <Code block>{JSON.stringify(entry.metadata, null, 2)}</Code>
        </details>
      ) : null}
      <Text size="xs" c="dimmed">
        {new Date(entry.createdAt).toLocaleString()} · {entry.action}
        {entry.targetId ? ` · ${entry.targetType} ${entry.targetId}` : ""}
        {entry.ip ? ` · from ${entry.ip}` : ""}
      </Text>
    </Stack>
  );
}
