/**
 * The audit log's filters: action (the server's actions, in words, grouped by area), actor (the
 * organization's members and API tokens), and a date range. Each change patches the filters the
 * page keeps in its URL.
 */
import { Button, Group, Select, TextInput } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { api, type Member, orgUrl } from "./api";
import { type ActorToken, type AuditFilters, rangeError } from "./api-audit";
import { actionOptions } from "./audit-sentences";
import { useCan } from "./session";

const ACTIONS = actionOptions();

export const NO_FILTERS: AuditFilters = { action: "", actor: "", from: "", to: "" };

function useActorOptions(org: string, selected: string) {
  const mayListTokens = useCan(["apiToken", "read"]);
  const members = useQuery({
    queryKey: ["org", org, "members"],
    queryFn: () => api.get<{ members: Member[] }>(orgUrl(org, "/members")),
  });
  const tokens = useQuery({
    queryKey: ["org", org, "api-tokens"],
    queryFn: () => api.get<{ tokens: ActorToken[] }>(orgUrl(org, "/api-tokens")),
    enabled: mayListTokens,
  });
  const people = (members.data?.members ?? []).map((m) => ({
    value: `user:${m.userId}`,
    label: `${m.name} (${m.email})`,
  }));
  const bots = (tokens.data?.tokens ?? []).map((t) => ({
    value: `token:${t.id}`,
    label: `API token “${t.name}”${t.status === "active" ? "" : ` (${t.status})`}`,
  }));
  const data = [
    { group: "People", items: people },
    ...(bots.length ? [{ group: "Organization API tokens", items: bots }] : []),
  ];
  // An actor named by the URL who is no longer listed (a former member, a deleted token) stays selectable.
  if (selected && ![...people, ...bots].some((o) => o.value === selected)) {
    data.push({ group: "Others", items: [{ value: selected, label: selected.replace(":", " ") }] });
  }
  return { data, loading: members.isPending };
}

export function AuditFilterBar({
  org,
  filters,
  onChange,
}: {
  org: string;
  filters: AuditFilters;
  /** Sets the given filters ("" removes one), keeping the others as the URL has them. */
  onChange: (patch: Partial<AuditFilters>) => void;
}) {
  const actors = useActorOptions(org, filters.actor);
  const active = Object.values(filters).some(Boolean);
  return (
    <Group align="flex-end" gap="sm" wrap="wrap" role="search" aria-label="Filter the audit log">
      <Select
        label="Action"
        placeholder="All actions"
        data={ACTIONS}
        value={filters.action || null}
        onChange={(v) => onChange({ action: v ?? "" })}
        searchable
        clearable
        nothingFoundMessage="No such action"
        w={280}
      />
      <Select
        label="Actor"
        placeholder={actors.loading ? "Loading…" : "Anyone"}
        data={actors.data}
        value={filters.actor || null}
        onChange={(v) => onChange({ actor: v ?? "" })}
        searchable
        clearable
        nothingFoundMessage="Nobody by that name"
        w={300}
      />
      <TextInput
        type="date"
        label="From"
        value={filters.from}
        onChange={(e) => onChange({ from: e.currentTarget.value })}
        w={170}
      />
      <TextInput
        type="date"
        label="To"
        value={filters.to}
        onChange={(e) => onChange({ to: e.currentTarget.value })}
        error={rangeError(filters)}
        w={170}
      />
      {active && (
        <Button variant="subtle" onClick={() => onChange(NO_FILTERS)}>
          Clear filters
        </Button>
      )}
    </Group>
  );
}
