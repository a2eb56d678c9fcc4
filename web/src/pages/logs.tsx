/**
 * The request log explorer: a filter bar (status, model, key, tag, end user, time range, cost, latency,
 * text; all in the URL, so a filtered view can be shared), the cursor-paged list, and one request in a
 * drawer over it (`logs/:requestId` keeps the filters in its query string); CSV / JSONL export of the
 * filtered set. Every role sees the logs of the projects it can reach (the API decides).
 */
import { Anchor, Badge, Button, Code, Group, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { Link, useLocation, useNavigate, useParams, useSearchParams } from "react-router";
import { filtersOf, logsExportUrl, useLogPage, useProjectKeys } from "../api-logs";
import { dateTime, num, usd } from "../format";
import { LogDrawer } from "../logs-drawer";
import { LogFilterBar } from "../logs-filters";
import { CacheHit, UserAndTags } from "../logs-labels";
import { Pager, useCursorPages } from "../paging";
import { PageLoader, QueryError } from "../session";
import { useQueryPatch } from "../url-filters";

export function LogsPage() {
  const { org = "", project = "", requestId } = useParams();
  const navigate = useNavigate();
  const location = useLocation();
  const [params] = useSearchParams();
  const filters = filtersOf(params);
  const base = `/${org}/projects/${project}/logs`;
  const listTo = { pathname: base, search: location.search };
  const pages = useCursorPages();
  const filterKey = JSON.stringify(filters);
  const [lastFilterKey, setLastFilterKey] = useState(filterKey);
  if (filterKey !== lastFilterKey) {
    setLastFilterKey(filterKey);
    pages.reset();
  }
  const logs = useLogPage(org, project, filters, pages.cursor);
  const keys = useProjectKeys(org, project).data?.keys ?? [];
  const setFilters = useQueryPatch();
  const open = (id: string) => navigate({ pathname: `${base}/${encodeURIComponent(id)}`, search: location.search });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Logs</Title>
        <Group gap="xs">
          <Button component="a" href={logsExportUrl(org, project, filters, "csv")} download variant="default" size="xs">
            Export CSV
          </Button>
          <Button
            component="a"
            href={logsExportUrl(org, project, filters, "jsonl")}
            download
            variant="default"
            size="xs"
          >
            Export JSONL
          </Button>
        </Group>
      </Group>
      <LogFilterBar filters={filters} onChange={setFilters} keys={keys} />
      {logs.isPending ? (
        <PageLoader />
      ) : logs.error ? (
        <QueryError error={logs.error} retry={() => logs.refetch()} />
      ) : logs.data.logs.length === 0 ? (
        <Paper withBorder p="xl" data-testid="logs-empty">
          <Text>
            {pages.number > 1 || Object.keys(filters).length
              ? "No request matches these filters."
              : "No requests yet. Call the gateway with a key of this project (API Keys has ready snippets), or try a model in the Playground: the request appears here."}
          </Text>
        </Paper>
      ) : (
        <>
          <Table.ScrollContainer minWidth={900}>
            <Table highlightOnHover aria-label="Request logs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Endpoint</Table.Th>
                  <Table.Th>Model</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>User / tags</Table.Th>
                  <Table.Th>Tokens (in/out)</Table.Th>
                  <Table.Th>Cost</Table.Th>
                  <Table.Th>Latency</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {logs.data.logs.map((l) => (
                  <Table.Tr
                    key={l.requestId}
                    style={{ cursor: "pointer" }}
                    onClick={() => open(l.requestId)}
                    data-testid="log-row"
                    aria-selected={l.requestId === requestId}
                    bg={l.requestId === requestId ? "var(--mantine-primary-color-light)" : undefined}
                  >
                    <Table.Td>
                      <Anchor
                        component={Link}
                        to={{ pathname: `${base}/${encodeURIComponent(l.requestId)}`, search: location.search }}
                        size="sm"
                        onClick={(e) => e.stopPropagation()}
                      >
                        {dateTime(l.createdAt)}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Code>{l.endpoint}</Code>
                    </Table.Td>
                    <Table.Td>{l.modelServed ?? l.modelRequested ?? "—"}</Table.Td>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Badge color={l.outcome === "ok" ? "green" : "red"} variant="light">
                          {l.status}
                        </Badge>
                        <CacheHit cache={l.cache} />
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <UserAndTags user={l.user} tags={l.tags} />
                    </Table.Td>
                    <Table.Td>
                      {num(l.inputTokens)} / {num(l.outputTokens)}
                    </Table.Td>
                    <Table.Td>{usd(l.costMicroUsd)}</Table.Td>
                    <Table.Td>{num(l.latencyMs)} ms</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager pages={pages} nextCursor={logs.data.nextCursor} />
        </>
      )}
      <LogDrawer
        org={org}
        project={project}
        requestId={requestId ?? null}
        listTo={listTo}
        onClose={() => navigate(listTo)}
        keys={keys}
      />
    </Stack>
  );
}

/**
 * `logs/:requestId`: the same page, the request's drawer open. The same component, so moving between
 * the list and a request keeps the page's state (the cursor pages seen).
 * @alias
 */
export const LogDetailPage = LogsPage;
