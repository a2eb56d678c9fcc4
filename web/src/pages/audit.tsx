/**
 * The organization's audit log (owners, admins): who did what, as sentences, newest first,
 * cursor-paged, filtered by action, actor and dates (kept in the URL). Expanding an entry shows
 * what it changed (before → after) or its details.
 */
import { ActionIcon, Stack, Table, Text, Title, VisuallyHidden } from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Fragment, useState } from "react";
import { useSearchParams } from "react-router";
import { api } from "../api";
import {
  type AuditFilters,
  type AuditLogEntry,
  type AuditLogPage,
  auditLogUrl,
  type Person,
  rangeError,
} from "../api-audit";
import { AuditDetails } from "../audit-diff";
import { AuditFilterBar, NO_FILTERS } from "../audit-filters";
import { type Part, sentence } from "../audit-sentences";
import { ago } from "../audit-time";
import { Pager, useCursorPages } from "../paging";
import { PageLoader, QueryError, useCurrentOrg } from "../session";
import { useQueryPatch } from "../url-filters";

function Sentence({ parts }: { parts: Part[] }) {
  return (
    <Text size="sm" data-testid="audit-sentence">
      {parts.map((p, i) =>
        typeof p === "string" ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: a sentence's parts never reorder
          <Fragment key={i}>{p}</Fragment>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: a sentence's parts never reorder
          <Text key={i} span fw={600} title={p.hint}>
            {p.text}
          </Text>
        ),
      )}
    </Text>
  );
}

function Row({ entry, people }: { entry: AuditLogEntry; people: Record<string, Person> }) {
  const [open, setOpen] = useState(false);
  const detailsId = `audit-details-${entry.id}`;
  return (
    <>
      <Table.Tr data-testid="audit-row" data-action={entry.action}>
        <Table.Td w={130}>
          <Text size="sm" title={new Date(entry.createdAt).toLocaleString()} data-testid="audit-time">
            {ago(entry.createdAt)}
          </Text>
        </Table.Td>
        <Table.Td>
          <Sentence parts={sentence(entry, people)} />
        </Table.Td>
        <Table.Td w={48}>
          <ActionIcon
            variant="subtle"
            aria-expanded={open}
            aria-controls={detailsId}
            aria-label={open ? "Hide details" : "Show details"}
            onClick={() => setOpen((o) => !o)}
          >
            {open ? "▾" : "▸"}
          </ActionIcon>
        </Table.Td>
      </Table.Tr>
      {open && (
        <Table.Tr id={detailsId}>
          <Table.Td colSpan={3}>
            <AuditDetails entry={entry} people={people} />
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

const FILTER_KEYS = ["action", "actor", "from", "to"] as const;

export function AuditPage() {
  const org = useCurrentOrg()!;
  const [params] = useSearchParams();
  const filters: AuditFilters = { ...NO_FILTERS };
  for (const k of FILTER_KEYS) filters[k] = params.get(k) ?? "";
  const pages = useCursorPages();
  const filterKey = FILTER_KEYS.map((k) => filters[k]).join("|");
  const [lastKey, setLastKey] = useState(filterKey);
  if (lastKey !== filterKey) {
    setLastKey(filterKey);
    pages.reset();
  }
  const invalid = rangeError(filters);
  const cursor = pages.cursor;
  const page = useQuery({
    queryKey: ["org", org.slug, "audit", filterKey, cursor],
    queryFn: () => api.get<AuditLogPage>(auditLogUrl(org.slug, filters, cursor)),
    placeholderData: keepPreviousData,
    enabled: !invalid,
  });
  const setFilters = useQueryPatch();
  const filtered = Object.values(filters).some(Boolean);
  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <AuditFilterBar org={org.slug} filters={filters} onChange={setFilters} />
      {invalid ? null : page.isPending ? (
        <PageLoader />
      ) : page.error ? (
        <QueryError error={page.error} retry={() => page.refetch()} />
      ) : page.data.entries.length === 0 ? (
        <Text c="dimmed" data-testid="audit-empty">
          {filtered ? "No entries match these filters." : "Nothing has happened in this organization yet."}
        </Text>
      ) : (
        <>
          <Table.ScrollContainer minWidth={640}>
            <Table aria-label="Audit log" verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>What happened</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Details</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {page.data.entries.map((e) => (
                  <Row key={e.id} entry={e} people={page.data.people} />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager pages={pages} nextCursor={page.data.nextCursor} />
        </>
      )}
    </Stack>
  );
}
