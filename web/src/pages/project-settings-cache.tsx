/** The project settings form's response cache section: off or exact match, and how long an answer is kept. */
import { Code, NumberInput, Select, Stack, Text, Title } from "@mantine/core";
import type { GetInputPropsReturnType } from "@mantine/form";

/** The longest time the server keeps an answer: 30 days. */
export const MAX_CACHE_TTL_SECONDS = 30 * 86_400;

const MODES = [
  { value: "off", label: "Off" },
  { value: "exact", label: "Exact match" },
];

const UNITS: Array<[string, number]> = [
  ["day", 86_400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** A duration in words, its two largest units ("1 hour", "2 days 6 hours"; "about …" when rounded). */
export function humanDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [name, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`);
  }
  if (parts.length === 0) return "";
  return parts.length > 2 ? `about ${parts.slice(0, 2).join(" ")}` : parts.join(" ");
}

/** The cache's values of the settings form, and back to the API's `cache` object. */
export function cacheValues(cache: { mode: "off" | "exact"; ttlSeconds: number }) {
  return { cacheMode: cache.mode as string, cacheTtlSeconds: cache.ttlSeconds as number | "" };
}

/** The TTL is sent only with the cache on (its field is hidden otherwise, and so would be its error). */
export function cacheBody(v: { cacheMode: string; cacheTtlSeconds: number | "" }) {
  const ttl = v.cacheMode === "exact" && v.cacheTtlSeconds !== "";
  return { mode: v.cacheMode, ...(ttl ? { ttlSeconds: v.cacheTtlSeconds } : {}) };
}

/** The server's errors on `cache…` under the form's field names. */
export function cacheErrors(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (fields["cache.mode"]) out.cacheMode = fields["cache.mode"];
  const ttl = fields["cache.ttlSeconds"] ?? fields.cache;
  if (ttl) out.cacheTtlSeconds = ttl;
  return out;
}

export function CacheSection(props: { mode: GetInputPropsReturnType; ttl: GetInputPropsReturnType }) {
  const on = props.mode.value === "exact";
  const ttl = props.ttl.value as number | "";
  return (
    <Stack gap="xs" data-testid="cache-settings">
      <Title order={5}>Response cache</Title>
      <Text size="sm" c="dimmed">
        Identical chat and embeddings requests (same model, messages or inputs, and parameters) are answered from the
        cache without calling the provider; hits are logged. Send <Code>x-tollgate-cache: no-store</Code> to bypass it.
      </Text>
      <Select label="Response cache" data={MODES} allowDeselect={false} {...props.mode} />
      {on && (
        <NumberInput
          label="Keep answers for (seconds)"
          description={typeof ttl === "number" && ttl > 0 ? humanDuration(ttl) : "1 to 2,592,000 (30 days)"}
          min={1}
          max={MAX_CACHE_TTL_SECONDS}
          allowDecimal={false}
          {...props.ttl}
        />
      )}
    </Stack>
  );
}
