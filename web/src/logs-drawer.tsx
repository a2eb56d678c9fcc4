/**
 * One request of the log, in a drawer over the list (its URL is the list's plus the request id): the
 * conversation as chat bubbles when the project stores bodies, the answer, the policy verdict, the
 * upstream attempts, the numbers (tokens, cost, latency, time to first token, cache), tags and metadata,
 * and the request as a curl command.
 */
import { Anchor, Button, Code, CopyButton, Drawer, Grid, Group, Stack, Text } from "@mantine/core";
import { useState } from "react";
import { Link, type To } from "react-router";
import type { ApiKey } from "./api";
import { attemptsOf, type LogRecord, useLogRecord } from "./api-logs";
import { dateTime, num, usd } from "./format";
import { AttemptsTimeline } from "./logs-attempts";
import { curlFor } from "./logs-curl";
import { CacheHit, UserAndTags } from "./logs-labels";
import { PolicyVerdictView } from "./logs-policy";
import { requestTurns, responseTurns, truncatedPreview } from "./logs-transcript";
import { Disclosure, JsonBlock, Transcript } from "./logs-transcript-view";
import { PageLoader, QueryError } from "./session";

export function LogDrawer(props: {
  org: string;
  project: string;
  /** The request shown; null: the drawer is closed. */
  requestId: string | null;
  /** Where closing leads (the list with the same filters). */
  listTo: To;
  onClose: () => void;
  keys: ApiKey[];
}) {
  // The last request shown stays in the drawer while it slides shut.
  const [shown, setShown] = useState(props.requestId);
  if (props.requestId && props.requestId !== shown) setShown(props.requestId);
  return (
    <Drawer
      opened={!!props.requestId}
      onClose={props.onClose}
      position="right"
      size="min(60rem, 100%)"
      title={<Text fw={700}>Request {shown}</Text>}
      transitionProps={{ duration: 150 }}
    >
      {shown && <LogRecordView {...props} requestId={shown} />}
    </Drawer>
  );
}

function LogRecordView(props: { org: string; project: string; requestId: string; listTo: To; keys: ApiKey[] }) {
  const log = useLogRecord(props.org, props.project, props.requestId);
  if (log.isPending) return <PageLoader />;
  if (log.error) return <QueryError error={log.error} retry={() => log.refetch()} />;
  const l = log.data;
  const key = props.keys.find((k) => k.id === l.keyId);
  return (
    <Stack data-testid="log-detail">
      <Group justify="space-between">
        <Anchor component={Link} to={props.listTo} size="sm">
          ← All logs
        </Anchor>
        <Group gap="xs">
          <Text size="sm" c="dimmed">
            Request id
          </Text>
          <Code>{l.requestId}</Code>
          <CacheHit cache={l.cache} />
        </Group>
      </Group>
      <Facts l={l} keyName={key?.name} />
      {l.metadata && (
        <Stack gap={4}>
          <Text fw={600}>Metadata</Text>
          <JsonBlock value={l.metadata} testId="log-metadata" />
        </Stack>
      )}
      <Stack gap={4}>
        <Text fw={600}>Upstream attempts</Text>
        <AttemptsTimeline attempts={attemptsOf(l.attempts)} latencyMs={l.latencyMs} />
      </Stack>
      <PolicyVerdictView policy={l.policy} />
      <Conversation l={l} />
      <Answer l={l} />
      <CopyAsCurl l={l} />
    </Stack>
  );
}

function Facts({ l, keyName }: { l: LogRecord; keyName?: string }) {
  const field = (label: string, value: React.ReactNode) => (
    <Grid.Col span={{ base: 6, sm: 4, md: 3 }}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text size="sm" component="div" style={{ overflowWrap: "anywhere" }}>
        {value}
      </Text>
    </Grid.Col>
  );
  return (
    <Grid data-testid="log-facts">
      {field("Time", dateTime(l.createdAt))}
      {field("Endpoint", l.endpoint)}
      {field("Status", `${l.status} (${l.outcome})`)}
      {field("Key", keyName ?? l.keyId)}
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
      {field("Cache", l.cache ?? "—")}
      {field("Stream", l.stream ? "yes" : "no")}
      {l.errorCode && field("Error", `${l.errorCode}${l.errorSource ? ` (${l.errorSource})` : ""}`)}
      {field("Client IP", l.clientIp ?? "—")}
      {field("End user", l.user ?? "—")}
      {field("Tags", l.tags?.length ? <UserAndTags user={null} tags={l.tags} /> : "—")}
    </Grid>
  );
}

const NOT_STORED = "Not stored: this project does not keep request bodies (Settings → Log bodies).";

/** A stored body as a transcript when it has a chat shape, else as JSON; the JSON behind a disclosure either way. */
function Body(props: { title: string; body: unknown; turns: ReturnType<typeof requestTurns>; testId: string }) {
  const preview = truncatedPreview(props.body);
  return (
    <Stack gap={4}>
      <Text fw={600}>{props.title}</Text>
      {preview !== null ? (
        <Stack gap={4} data-testid={props.testId}>
          <Text size="sm" c="dimmed">
            Cut at the log's size cap; the beginning as stored:
          </Text>
          <JsonBlock value={preview} />
        </Stack>
      ) : props.turns ? (
        <Stack gap="xs">
          <Transcript turns={props.turns} testId={props.testId} />
          <Disclosure summary={<Text span size="sm">{`${props.title}: JSON as stored`}</Text>}>
            <JsonBlock value={props.body} />
          </Disclosure>
        </Stack>
      ) : (
        <JsonBlock value={props.body} testId={props.testId} />
      )}
    </Stack>
  );
}

function Conversation({ l }: { l: LogRecord }) {
  if (l.requestBody === null)
    return (
      <Stack gap={4}>
        <Text fw={600}>Conversation</Text>
        <Text size="sm" c="dimmed">
          {NOT_STORED}
        </Text>
      </Stack>
    );
  return (
    <Body
      title="Conversation"
      body={l.requestBody}
      turns={requestTurns(l.endpoint, l.requestBody)}
      testId="log-request-body"
    />
  );
}

function Answer({ l }: { l: LogRecord }) {
  if (l.responseBody === null)
    return (
      <Stack gap={4}>
        <Text fw={600}>Response</Text>
        <Text size="sm" c="dimmed">
          {l.requestBody === null
            ? NOT_STORED
            : l.outcome === "ok"
              ? "Not stored."
              : `No answer: the request ended with ${l.errorCode ?? `status ${l.status}`}.`}
        </Text>
      </Stack>
    );
  return (
    <Body title="Response" body={l.responseBody} turns={responseTurns(l.responseBody)} testId="log-response-body" />
  );
}

function CopyAsCurl({ l }: { l: LogRecord }) {
  const curl = curlFor(l, window.location.origin);
  return (
    <Stack gap={4} data-testid="log-curl">
      <Group justify="space-between">
        <Text fw={600}>Repeat this request</Text>
        {"command" in curl ? (
          <CopyButton value={curl.command}>
            {({ copied, copy }) => (
              <Button size="xs" variant="light" color={copied ? "teal" : undefined} onClick={copy}>
                {copied ? "Copied" : "Copy as curl"}
              </Button>
            )}
          </CopyButton>
        ) : (
          <Button size="xs" variant="light" disabled aria-describedby="log-curl-why">
            Copy as curl
          </Button>
        )}
      </Group>
      {"command" in curl ? (
        <>
          <JsonBlock value={curl.command} testId="log-curl-command" />
          <Text size="xs" c="dimmed">
            Set <Code>TOLLGATE_API_KEY</Code> to a key of this project first. The body is the one stored: what the
            security policy masked or redacted stays so.
          </Text>
        </>
      ) : (
        <Text size="sm" c="dimmed" id="log-curl-why" data-testid="log-curl-unavailable">
          {curl.unavailable}
        </Text>
      )}
    </Stack>
  );
}
