/**
 * A project's playground: pick a model the project may use (virtual models included), write a
 * conversation, and watch the answer stream in. The call goes through the real gateway with the
 * person's own playground key for the project (made on first use, listed with the project's keys), so
 * it is limited, scanned, routed, billed and logged like any call; the result shows what the gateway
 * said about it — provider, model served, tokens, cost, timings — and the security policy's verdict
 * from its log record.
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  NumberInput,
  Paper,
  Select,
  Stack,
  Text,
  Textarea,
  Title,
} from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { api, type LogDetail, projectUrl } from "../api";
import { PageLoader, QueryError } from "../session";
import { type PlaygroundAnswer, PlaygroundError, type PlaygroundMessage, streamChat } from "../playground-stream";
import { useProject } from "./project";

interface Turn {
  role: "user" | "assistant";
  content: string;
  answer?: PlaygroundAnswer;
}

export function PlaygroundPage() {
  const { org = "", project = "" } = useParams();
  const proj = useProject();
  const models = useQuery({
    queryKey: ["org", org, "project", project, "playground-models"],
    queryFn: () =>
      api.get<{ data: Array<{ id: string; owned_by: string }> }>(projectUrl(org, project, "/playground/models")),
  });
  const [model, setModel] = useState<string | null>(null);
  const [system, setSystem] = useState("");
  const [temperature, setTemperature] = useState<number | string>("");
  const [maxTokens, setMaxTokens] = useState<number | string>("");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState("");
  const [streaming, setStreaming] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<PlaygroundError | null>(null);
  const abort = useRef<AbortController | null>(null);

  if (models.isPending) return <PageLoader />;
  if (models.isError) return <QueryError error={models.error} />;
  const options = models.data.data.map((m) => ({
    value: m.id,
    label: m.owned_by === "virtual" ? `${m.id} (virtual model)` : m.id,
  }));
  const chosen = model ?? proj.data?.defaultModel ?? options[0]?.value ?? null;

  async function send() {
    const content = draft.trim();
    if (!content || !chosen || busy) return;
    const history: Turn[] = [...turns, { role: "user", content }];
    setTurns(history);
    setDraft("");
    setError(null);
    setStreaming("");
    setBusy(true);
    const controller = new AbortController();
    abort.current = controller;
    const messages: PlaygroundMessage[] = [
      ...(system.trim() ? [{ role: "system" as const, content: system.trim() }] : []),
      ...history.map((t) => ({ role: t.role, content: t.content })),
    ];
    try {
      const answer = await streamChat(
        org,
        project,
        messages,
        {
          model: chosen,
          ...(typeof temperature === "number" ? { temperature } : {}),
          ...(typeof maxTokens === "number" ? { maxTokens } : {}),
        },
        (delta) => setStreaming((s) => s + delta),
        controller.signal,
      );
      setTurns([...history, { role: "assistant", content: answer.text, answer }]);
    } catch (err) {
      if (controller.signal.aborted) setTurns(history);
      else
        setError(
          err instanceof PlaygroundError ? err : new PlaygroundError(String((err as Error).message), 0, null, null),
        );
    } finally {
      setStreaming("");
      setBusy(false);
      abort.current = null;
    }
  }

  return (
    <Stack maw={900}>
      <div>
        <Title order={3}>Playground</Title>
        <Text size="sm" c="dimmed">
          Calls go through the gateway with your own playground key for this project: limited, checked by the security
          policy, billed and logged like any call.
        </Text>
      </div>
      {options.length === 0 ? (
        <Alert color="yellow" title="No model to call">
          This project may not use any model yet. An owner or admin can allow models in the project's settings or add a
          provider.
        </Alert>
      ) : (
        <Card withBorder>
          <Group grow align="flex-end">
            <Select label="Model" data={options} value={chosen} onChange={setModel} searchable allowDeselect={false} />
            <NumberInput
              label="Temperature"
              placeholder="provider default"
              min={0}
              max={2}
              step={0.1}
              decimalScale={2}
              value={temperature}
              onChange={setTemperature}
            />
            <NumberInput
              label="Max output tokens"
              placeholder="provider default"
              min={1}
              max={1_000_000}
              value={maxTokens}
              onChange={setMaxTokens}
            />
          </Group>
          <Textarea
            mt="sm"
            label="System prompt"
            placeholder="Optional instructions for the model"
            autosize
            minRows={1}
            value={system}
            onChange={(e) => setSystem(e.currentTarget.value)}
          />
        </Card>
      )}
      <Stack gap="xs" aria-label="Conversation" role="log">
        {turns.map((t, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: turns are only appended or cleared, never reordered
          <TurnView key={i} turn={t} org={org} project={project} />
        ))}
        {busy && (
          <Paper withBorder p="sm" data-testid="playground-streaming">
            <Badge variant="light" mb={4}>
              assistant
            </Badge>
            <Text style={{ whiteSpace: "pre-wrap", overflowWrap: "anywhere" }}>{streaming || "…"}</Text>
          </Paper>
        )}
      </Stack>
      {error && (
        <Alert color="red" title="The gateway refused or failed the call" data-testid="playground-error">
          {error.message}
          {error.code ? ` (${error.code})` : ""}
          {error.requestId && (
            <Text size="xs" c="dimmed">
              Request {error.requestId}
            </Text>
          )}
        </Alert>
      )}
      <Textarea
        label="Message"
        placeholder="Ask something — Ctrl+Enter sends"
        autosize
        minRows={2}
        value={draft}
        onChange={(e) => setDraft(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void send();
        }}
      />
      <Group>
        <Button onClick={() => void send()} loading={busy} disabled={!draft.trim() || !chosen}>
          Send
        </Button>
        {busy && (
          <Button variant="default" onClick={() => abort.current?.abort()}>
            Stop
          </Button>
        )}
        <Button variant="subtle" disabled={busy || turns.length === 0} onClick={() => setTurns([])}>
          Clear conversation
        </Button>
      </Group>
    </Stack>
  );
}

function TurnView({ turn, org, project }: { turn: Turn; org: string; project: string }) {
  return (
    <Paper
      withBorder
      p="sm"
      bg={turn.role === "user" ? "var(--mantine-color-default-hover)" : undefined}
      data-testid="playground-turn"
      data-role={turn.role}
    >
      <Badge variant="light" color={turn.role === "user" ? "gray" : "blue"} mb={4}>
        {turn.role}
      </Badge>
      <Text style={{ whiteSpace: "pre-wrap", overflowWrap: "anywhere" }}>{turn.content}</Text>
      {turn.answer && <AnswerFacts answer={turn.answer} org={org} project={project} />}
    </Paper>
  );
}

/** What the gateway said about the call, and the policy verdict from its log record (written just after). */
function AnswerFacts({ answer, org, project }: { answer: PlaygroundAnswer; org: string; project: string }) {
  const id = answer.requestId;
  const record = useQuery({
    queryKey: ["org", org, "project", project, "log", id],
    enabled: id !== null,
    queryFn: () => api.get<LogDetail>(projectUrl(org, project, `/logs/${encodeURIComponent(id!)}`)),
    retry: 10,
    retryDelay: 300,
  });
  const policy = record.data?.policy;
  const verdict = !record.data
    ? "checking…"
    : !policy
      ? "no findings"
      : policy.blocked
        ? "blocked"
        : `${policy.findings.length} finding${policy.findings.length === 1 ? "" : "s"} (${[
            ...new Set(policy.findings.map((f) => f.action)),
          ].join(", ")})`;
  const facts: Array<[string, string]> = [
    ["provider", answer.provider ?? "–"],
    ["model", answer.modelServed ?? "–"],
    ["tokens", answer.inputTokens === null ? "–" : `${answer.inputTokens} in · ${answer.outputTokens ?? 0} out`],
    ["cost", answer.costUsd === null ? "–" : `$${answer.costUsd}`],
    ["first token", answer.firstTokenMs === null ? "–" : `${answer.firstTokenMs} ms`],
    ["total", `${answer.totalMs} ms`],
    ["policy", verdict],
  ];
  return (
    <Group gap="md" mt="xs" data-testid="playground-facts">
      {facts.map(([k, v]) => (
        <Text key={k} size="xs" c="dimmed">
          {k}: <b data-fact={k}>{v}</b>
        </Text>
      ))}
      {id && (
        <Anchor component={Link} size="xs" to={`/${org}/projects/${project}/logs/${encodeURIComponent(id)}`}>
          View the log record
        </Anchor>
      )}
    </Group>
  );
}
