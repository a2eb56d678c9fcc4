/**
 * The request log explorer's filter bar: one control per filter of the logs API, each reading its value
 * from the URL and writing it back there (typed values after a pause, and only once they are valid), so
 * the address of a filtered view can be shared.
 */
import { Button, Group, Paper, Select, SimpleGrid, TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { useState } from "react";
import type { ApiKey } from "./api";
import { costProblem, LOG_FILTER_KEYS, type LogFilterKey, type LogFilters, latencyProblem } from "./api-logs";

const STATUS_CHOICES = [
  {
    group: "Outcome",
    items: [
      { value: "outcome:ok", label: "OK" },
      { value: "outcome:error", label: "Error" },
      { value: "outcome:client_aborted", label: "Client aborted" },
    ],
  },
  {
    group: "HTTP status",
    items: ["2xx", "3xx", "4xx", "5xx"].map((c) => ({ value: `status:${c}`, label: c })),
  },
];

export function LogFilterBar({
  filters,
  onChange,
  keys,
}: {
  filters: LogFilters;
  /** Sets the given filters ("" or undefined removes one). */
  onChange: (patch: LogFilters) => void;
  keys: ApiKey[];
}) {
  const statusValue = filters.outcome
    ? `outcome:${filters.outcome}`
    : filters.status
      ? `status:${filters.status}`
      : null;
  // A status the choices lack (an exact one, from a shared link) is offered as it is.
  const statusData =
    filters.status && !filters.outcome && !/^[1-5]xx$/.test(filters.status)
      ? [
          ...STATUS_CHOICES,
          { group: "Exact status", items: [{ value: `status:${filters.status}`, label: filters.status }] },
        ]
      : STATUS_CHOICES;
  const text = (name: LogFilterKey) => ({
    value: filters[name] ?? "",
    onCommit: (v: string) => onChange({ [name]: v }),
  });
  const any = Object.keys(filters).length > 0;

  return (
    <Paper withBorder p="sm" data-testid="log-filters">
      <SimpleGrid cols={{ base: 2, sm: 3, md: 4, lg: 6 }} spacing="sm" verticalSpacing="xs">
        <Select
          label="Status"
          placeholder="Any"
          data={statusData}
          value={statusValue}
          onChange={(v) => {
            const [kind, value] = (v ?? ":").split(":");
            onChange({ outcome: kind === "outcome" ? value : "", status: kind === "status" ? value : "" });
          }}
          clearable
          allowDeselect
        />
        <FilterText label="Model" placeholder="mock/echo" {...text("model")} />
        <Select
          label="Key"
          placeholder="Any key"
          data={keys.map((k) => ({ value: k.id, label: k.status === "active" ? k.name : `${k.name} (${k.status})` }))}
          value={filters.keyId ?? null}
          onChange={(v) => onChange({ keyId: v ?? "" })}
          searchable
          clearable
          nothingFoundMessage="No such key"
        />
        <FilterText label="Tag" placeholder="checkout" {...text("tag")} />
        <FilterText label="End user" placeholder="user-42" {...text("user")} />
        <FilterText label="Search" placeholder="text in prompts, answers, errors" {...text("q")} />
        <TimeInput label="From" value={filters.from} onChange={(v) => onChange({ from: v })} />
        <TimeInput label="To" value={filters.to} onChange={(v) => onChange({ to: v })} wholeMinute />
        <FilterText label="Min cost (USD)" placeholder="0.01" check={costProblem} {...text("minCostUsd")} />
        <FilterText label="Max cost (USD)" placeholder="1.00" check={costProblem} {...text("maxCostUsd")} />
        <FilterText label="Min latency (ms)" placeholder="500" check={latencyProblem} {...text("minLatencyMs")} />
        <FilterText label="Max latency (ms)" placeholder="10000" check={latencyProblem} {...text("maxLatencyMs")} />
      </SimpleGrid>
      {any && (
        <Group justify="flex-end" mt="xs">
          <Button
            variant="subtle"
            size="xs"
            onClick={() => onChange(Object.fromEntries(LOG_FILTER_KEYS.map((k) => [k, ""])))}
          >
            Clear filters
          </Button>
        </Group>
      )}
    </Paper>
  );
}

/**
 * A typed filter: shown as typed, written to the URL 300 ms after the last keystroke when `check` finds
 * nothing wrong; a change of the URL's value from elsewhere (Clear filters, Back) replaces what is shown.
 */
function FilterText(props: {
  label: string;
  placeholder: string;
  value: string;
  onCommit: (value: string) => void;
  check?: (value: string) => string | null;
}) {
  const { value, onCommit, check } = props;
  const [draft, setDraft] = useState(value);
  const [seen, setSeen] = useState(value);
  if (value !== seen) {
    setSeen(value);
    if (value !== draft.trim()) setDraft(value);
  }
  const commit = useDebouncedCallback((v: string) => {
    const t = v.trim();
    if (t && check?.(t)) return;
    if (t !== value) onCommit(t);
  }, 300);
  const problem = draft.trim() && check ? check(draft.trim()) : null;
  return (
    <TextInput
      label={props.label}
      placeholder={props.placeholder}
      value={draft}
      onChange={(e) => {
        setDraft(e.currentTarget.value);
        commit(e.currentTarget.value);
      }}
      error={problem}
    />
  );
}

const pad = (n: number) => String(n).padStart(2, "0");
/** An instant as the value of a datetime-local input (the browser's time zone). */
function localInput(iso: string | undefined): string {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * One end of the time range: a date and time in the browser's zone, sent as an ISO 8601 instant;
 * `wholeMinute`: the minute's last millisecond (an end includes the minute it names).
 */
function TimeInput(props: { label: string; value?: string; onChange: (iso: string) => void; wholeMinute?: boolean }) {
  const { label, value, onChange } = props;
  return (
    <TextInput
      type="datetime-local"
      label={label}
      value={localInput(value)}
      onChange={(e) => {
        const v = e.currentTarget.value;
        const d = v ? new Date(v) : null;
        if (!d) onChange("");
        else if (!Number.isNaN(d.getTime()))
          onChange(new Date(d.getTime() + (props.wholeMinute ? 59_999 : 0)).toISOString());
      }}
    />
  );
}
