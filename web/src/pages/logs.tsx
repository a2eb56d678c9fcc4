/**
 * Request logs: filterable (tag and end user included), cursor-paged table; a detail view per request
 * with its tags and metadata; response cache hits marked; CSV / JSONL export.
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Grid,
  Group,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, type LogDetail, type LogEntry, projectUrl, qs } from "../api";
import type { LogLabels } from "../api-usage";
import { dateTime, num, usd } from "../format";
import { PageLoader, QueryError } from "../session";
import { Pager, useCursorPages } from "../paging";

const PAGE = 25;

export function LogsPage() {
  const { org = "", project = "" } = useParams();
  const navigate = useNavigate();
  const [outcome, setOutcome] = useState<string | null>(null);
  const [model, setModel] = useState("");
  const [q, setQ] = useState("");
  const [status, setStatus] = useState("");
  const [tag, setTag] = useState("");
  const [user, setUser] = useState("");
  const [filters] = useDebouncedValue(
    {
      outcome,
      model: model.trim(),
      q: q.trim(),
      status: /^\d{3}$/.test(status) ? status : "",
      tag: tag.trim(),
      user: user.trim(),
    },
    300,
  );
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const filterKey = JSON.stringify(filters);
  const [lastFilterKey, setLastFilterKey] = useState(filterKey);
  if (filterKey !== lastFilterKey) {
    setLastFilterKey(filterKey);
    pages.reset();
  }
  const params = { ...filters };
  const logs = useQuery({
    queryKey: ["org", org, "project", project, "logs", filterKey, cursor],
    queryFn: () =>
      api.get<{ logs: Array<LogEntry & LogLabels>; nextCursor: string | null }>(
        projectUrl(org, project, `/logs${qs({ ...params, limit: PAGE, cursor })}`),
      ),
    placeholderData: keepPreviousData,
  });
  const exportUrl = (format: string) => projectUrl(org, project, `/logs/export${qs({ ...params, format })}`);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Logs</Title>
        <Group gap="xs">
          <Button component="a" href={exportUrl("csv")} download variant="default" size="xs">
            Export CSV
          </Button>
          <Button component="a" href={exportUrl("jsonl")} download variant="default" size="xs">
            Export JSONL
          </Button>
        </Group>
      </Group>
      <Group align="flex-end" gap="sm" wrap="wrap">
        <Select
          label="Outcome"
          placeholder="Any"
          data={["ok", "error", "client_aborted"]}
          value={outcome}
          onChange={setOutcome}
          clearable
          w={160}
        />
        <TextInput
          label="Model"
          placeholder="mock/echo"
          value={model}
          onChange={(e) => setModel(e.currentTarget.value)}
          w={180}
        />
        <TextInput
          label="Status"
          placeholder="429"
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value)}
          w={90}
          error={status && !/^\d{3}$/.test(status) ? "3 digits" : undefined}
        />
        <TextInput
          label="Tag"
          placeholder="checkout"
          value={tag}
          onChange={(e) => setTag(e.currentTarget.value)}
          w={140}
        />
        <TextInput
          label="End user"
          placeholder="user-42"
          value={user}
          onChange={(e) => setUser(e.currentTarget.value)}
          w={160}
        />
        <TextInput
          label="Search"
          placeholder="text in prompts, responses, errors"
          value={q}
          onChange={(e) => setQ(e.currentTarget.value)}
          w={260}
        />
      </Group>
      {logs.isPending ? (
        <PageLoader />
      ) : logs.error ? (
        <QueryError error={logs.error} retry={() => logs.refetch()} />
      ) : logs.data.logs.length === 0 ? (
        <Paper withBorder p="xl" data-testid="logs-empty">
          <Text>
            {pages.number > 1 || Object.values(filters).some((v) => v)
              ? "No request matches these filters."
              : "No requests yet. Call the gateway with a key of this project and the request appears here."}
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
                    onClick={() => navigate(l.requestId)}
                    data-testid="log-row"
                  >
                    <Table.Td>
                      <Anchor component={Link} to={l.requestId} size="sm" onClick={(e) => e.stopPropagation()}>
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
    </Stack>
  );
}

/** A small badge on a request the response cache answered; nothing for a miss or an uncached request. */
function CacheHit({ cache }: { cache?: string | null }) {
  if (cache !== "hit") return null;
  return (
    <Badge size="sm" variant="light" color="cyan" tt="none" data-testid="log-cache-hit">
      cache hit
    </Badge>
  );
}

/** The end user and the tags of a request, compact (a table cell). */
function UserAndTags({ user, tags }: { user: string | null; tags?: string[] | null }) {
  if (!user && !tags?.length) return <Text c="dimmed">—</Text>;
  return (
    <Group gap={4} wrap="wrap" data-testid="log-user-tags">
      {user && (
        <Text size="sm" span>
          {user}
        </Text>
      )}
      {tags?.map((t) => (
        <Badge key={t} size="sm" variant="outline" color="gray" tt="none">
          {t}
        </Badge>
      ))}
    </Group>
  );
}

export function LogDetailPage() {
  const { org = "", project = "", requestId = "" } = useParams();
  const log = useQuery({
    queryKey: ["org", org, "project", project, "log", requestId],
    queryFn: () => api.get<LogDetail & LogLabels>(projectUrl(org, project, `/logs/${encodeURIComponent(requestId)}`)),
  });
  if (log.isPending) return <PageLoader />;
  if (log.error) return <QueryError error={log.error} retry={() => log.refetch()} />;
  const l = log.data;
  const field = (label: string, value: React.ReactNode) => (
    <Grid.Col span={{ base: 6, md: 3 }}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text size="sm">{value}</Text>
    </Grid.Col>
  );
  return (
    <Stack data-testid="log-detail">
      <Anchor component={Link} to={`/${org}/projects/${project}/logs`} size="sm">
        ← All logs
      </Anchor>
      <Group gap="sm">
        <Title order={3}>
          Request <Code>{l.requestId}</Code>
        </Title>
        <CacheHit cache={l.cache} />
      </Group>
      <Paper withBorder p="md">
        <Grid>
          {field("Time", dateTime(l.createdAt))}
          {field("Endpoint", l.endpoint)}
          {field("Status", `${l.status} (${l.outcome})`)}
          {field("Provider", l.provider ?? "—")}
          {field("Model requested", l.modelRequested ?? "—")}
          {field("Model served", l.modelServed ?? "—")}
          {field(
            "Input tokens",
            `${num(l.inputTokens)}${l.cachedInputTokens ? ` (${num(l.cachedInputTokens)} cached)` : ""}`,
          )}
          {field("Output tokens", num(l.outputTokens) + (l.usageEstimated ? " (estimated)" : ""))}
          {field("Cost", usd(l.costMicroUsd))}
          {field("Latency", `${num(l.latencyMs)} ms`)}
          {field("Time to first token", l.ttftMs === null ? "—" : `${num(l.ttftMs)} ms`)}
          {field("Stream", l.stream ? "yes" : "no")}
          {l.errorCode && field("Error", `${l.errorCode}${l.errorSource ? ` (${l.errorSource})` : ""}`)}
          {field("Client IP", l.clientIp ?? "—")}
          {field("User", l.user ?? "—")}
          {field("Tags", l.tags?.length ? <UserAndTags user={null} tags={l.tags} /> : "—")}
          {field("Attempts", String(l.attempts.length))}
        </Grid>
      </Paper>
      {l.metadata && (
        <Stack gap={4}>
          <Text fw={600}>Metadata</Text>
          <Code block data-testid="log-metadata">
            {JSON.stringify(l.metadata, null, 2)}
          </Code>
        </Stack>
      )}
      {l.attempts.length > 0 && (
        <Stack gap={4}>
          <Text fw={600}>Attempts (provider calls, retries and fallbacks)</Text>
          <Code block>{JSON.stringify(l.attempts, null, 2)}</Code>
        </Stack>
      )}
      <Stack gap={4} data-testid="log-policy">
        <Text fw={600}>Security policy</Text>
        {!l.policy ? (
          <Text size="sm" c="dimmed">
            The policy found nothing in this request.
          </Text>
        ) : (
          <>
            {l.policy.blocked && (
              <Alert color="red" p="xs">
                Blocked on {l.policy.blocked.direction}:{" "}
                {l.policy.blocked.ruleName ? `rule “${l.policy.blocked.ruleName}”` : l.policy.blocked.type}
              </Alert>
            )}
            <Table.ScrollContainer minWidth={600}>
              <Table aria-label="Policy findings">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Direction</Table.Th>
                    <Table.Th>Finding</Table.Th>
                    <Table.Th>Action</Table.Th>
                    <Table.Th>Severity</Table.Th>
                    <Table.Th>Excerpt (masked)</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {l.policy.findings.map((f, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: a finding has no id, and the list is read-only: it never reorders
                    <Table.Tr key={i}>
                      <Table.Td>{f.direction}</Table.Td>
                      <Table.Td>
                        {f.ruleName ? `rule “${f.ruleName}”` : `${f.type}${f.subtype ? ` (${f.subtype})` : ""}`}
                      </Table.Td>
                      <Table.Td>
                        <Badge variant="light" color={f.action === "block" ? "red" : "yellow"}>
                          {f.action}
                        </Badge>
                      </Table.Td>
                      <Table.Td>{f.severity}</Table.Td>
                      <Table.Td>
                        <Code>{f.excerpt}</Code>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </>
        )}
      </Stack>
      <Stack gap={4}>
        <Text fw={600}>Prompt</Text>
        {l.requestBody === null ? (
          <Text size="sm" c="dimmed">
            Not stored: this project does not keep request bodies (Settings → Log bodies).
          </Text>
        ) : (
          <Code block data-testid="log-request-body">
            {JSON.stringify(l.requestBody, null, 2)}
          </Code>
        )}
      </Stack>
      <Stack gap={4}>
        <Text fw={600}>Response</Text>
        {l.responseBody === null ? (
          <Text size="sm" c="dimmed">
            Not stored.
          </Text>
        ) : (
          <Code block data-testid="log-response-body">
            {JSON.stringify(l.responseBody, null, 2)}
          </Code>
        )}
      </Stack>
    </Stack>
  );
}
