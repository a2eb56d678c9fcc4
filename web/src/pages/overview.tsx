/** A project's Overview: requests, errors, tokens, cost and latency per day, and by model, from `/usage`. */
import { Anchor, Card, Group, Paper, SegmentedControl, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { api, projectUrl, qs, type UsageRow } from "../api";
import { LabelledBars, labelWidth, TimeChart } from "../charts";
import { num, sumMicro, usd } from "../format";
import { modelLabel } from "../labels";
import { PageLoader, QueryError } from "../session";

const RANGES: Record<string, number> = { "7d": 7, "30d": 30, "90d": 90 };

interface Day {
  day: string;
  requests: number;
  errors: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  costMicro: bigint;
  p50: number | null;
  p95: number | null;
}

/** Per-day totals from the day × model rows; the latency shown for a day is its slowest model's. */
function byDay(rows: UsageRow[], from: Date, days: number): Day[] {
  const map = new Map<string, Day>();
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(Date.now() - i * 86_400_000).toISOString().slice(0, 10);
    if (new Date(d) >= new Date(from.toISOString().slice(0, 10)))
      map.set(d, {
        day: d,
        requests: 0,
        errors: 0,
        tokens: 0,
        inputTokens: 0,
        outputTokens: 0,
        cost: 0,
        costMicro: 0n,
        p50: null,
        p95: null,
      });
  }
  for (const r of rows) {
    const key = r.day.slice(0, 10);
    const d = map.get(key) ?? {
      day: key,
      requests: 0,
      errors: 0,
      tokens: 0,
      inputTokens: 0,
      outputTokens: 0,
      cost: 0,
      costMicro: 0n,
      p50: null,
      p95: null,
    };
    d.requests += r.requests;
    d.errors += r.errors;
    d.inputTokens += r.inputTokens;
    d.outputTokens += r.outputTokens;
    d.tokens += r.inputTokens + r.outputTokens;
    d.costMicro += BigInt(r.costMicroUsd);
    d.cost = Number(d.costMicro) / 1e6;
    if (r.latencyP50Ms !== null) d.p50 = Math.max(d.p50 ?? 0, r.latencyP50Ms);
    if (r.latencyP95Ms !== null) d.p95 = Math.max(d.p95 ?? 0, r.latencyP95Ms);
    map.set(key, d);
  }
  return [...map.values()].sort((a, b) => a.day.localeCompare(b.day)).map((d) => ({ ...d, day: d.day.slice(5) }));
}

export function ProjectOverviewPage() {
  const { org = "", project = "" } = useParams();
  const [range, setRange] = useState("30d");
  const days = RANGES[range] ?? 30;
  const from = useMemo(() => new Date(Date.now() - (days - 1) * 86_400_000), [days]);
  const usage = useQuery({
    queryKey: ["org", org, "project", project, "usage", range],
    queryFn: () =>
      api.get<{ usage: UsageRow[] }>(
        projectUrl(org, project, `/usage${qs({ from: new Date(from.toISOString().slice(0, 10)).toISOString() })}`),
      ),
  });
  if (usage.isPending) return <PageLoader />;
  if (usage.error) return <QueryError error={usage.error} retry={() => usage.refetch()} />;
  const rows = usage.data.usage;
  const daily = byDay(rows, from, days);
  const totalRequests = rows.reduce((a, r) => a + r.requests, 0);
  const totalErrors = rows.reduce((a, r) => a + r.errors, 0);
  const totalTokens = rows.reduce((a, r) => a + r.inputTokens + r.outputTokens, 0);
  const totalCost = sumMicro(rows.map((r) => r.costMicroUsd));
  const cacheHits = rows.reduce((a, r) => a + r.cacheHits, 0);
  const cacheLookups = cacheHits + rows.reduce((a, r) => a + r.cacheMisses, 0);
  const models = new Map<string, { model: string; requests: number; tokens: number; costMicro: bigint }>();
  for (const r of rows) {
    const k = modelLabel(r.model);
    const m = models.get(k) ?? { model: k, requests: 0, tokens: 0, costMicro: 0n };
    m.requests += r.requests;
    m.tokens += r.inputTokens + r.outputTokens;
    m.costMicro += BigInt(r.costMicroUsd);
    models.set(k, m);
  }
  const modelRows = [...models.values()]
    .sort((a, b) => b.requests - a.requests)
    .map((m) => ({ ...m, cost: Number(m.costMicro) / 1e6 }));

  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm">
          Usage of the last {days} days (UTC days).
        </Text>
        <SegmentedControl
          size="xs"
          value={range}
          onChange={setRange}
          data={Object.keys(RANGES)}
          aria-label="Time range"
        />
      </Group>
      <SimpleGrid cols={{ base: 2, md: cacheLookups ? 5 : 4 }}>
        <Stat label="Requests" value={num(totalRequests)} testId="stat-requests" />
        <Stat label="Tokens" value={num(totalTokens)} testId="stat-tokens" />
        <Stat label="Cost" value={usd(totalCost)} testId="stat-cost" />
        <Stat
          label="Error rate"
          value={totalRequests ? `${((totalErrors / totalRequests) * 100).toFixed(1)}%` : "—"}
          testId="stat-errors"
        />
        {cacheLookups > 0 && (
          <Stat
            label="Cache hits"
            value={`${num(cacheHits)} (${((cacheHits / cacheLookups) * 100).toFixed(1)}%)`}
            testId="stat-cache-hits"
          />
        )}
      </SimpleGrid>
      {totalRequests === 0 ? (
        <Card withBorder p="xl" data-testid="usage-empty">
          <Stack gap="xs">
            <Title order={4}>No requests yet</Title>
            <Text size="sm">
              Create a key under{" "}
              <Anchor component={Link} to="keys">
                API Keys
              </Anchor>{" "}
              and send a request through this server; usage shows up here within seconds.
            </Text>
          </Stack>
        </Card>
      ) : (
        <SimpleGrid cols={{ base: 1, lg: 2 }} data-testid="usage-charts">
          <ChartCard title="Requests and errors">
            <TimeChart
              kind="area"
              data={daily}
              dataKey="day"
              hasData={active}
              series={[
                { name: "requests", color: "indigo.6" },
                { name: "errors", color: "red.6" },
              ]}
            />
          </ChartCard>
          <ChartCard title="Tokens">
            <TimeChart
              kind="bar"
              stacked
              data={daily}
              dataKey="day"
              hasData={active}
              series={[
                { name: "inputTokens", label: "input", color: "teal.6" },
                { name: "outputTokens", label: "output", color: "cyan.6" },
              ]}
            />
          </ChartCard>
          <ChartCard title="Cost (USD)">
            <TimeChart
              kind="area"
              data={daily}
              dataKey="day"
              hasData={active}
              series={[{ name: "cost", color: "grape.6" }]}
              valueFormatter={(v) => `$${v.toFixed(4)}`}
            />
          </ChartCard>
          <ChartCard title="Latency (ms, slowest model of the day)" testId="latency-chart">
            <TimeChart
              kind="line"
              data={daily}
              dataKey="day"
              hasData={(d) => d.p50 !== null || d.p95 !== null}
              series={[
                { name: "p50", color: "blue.6" },
                { name: "p95", color: "orange.6" },
              ]}
              valueFormatter={(v) => `${num(Math.round(v))} ms`}
            />
          </ChartCard>
          <ChartCard title="By model">
            <LabelledBars
              h={Math.max(160, modelRows.length * 48)}
              data={modelRows}
              dataKey="model"
              orientation="vertical"
              yAxisWidth={labelWidth(modelRows.map((m) => m.model))}
              series={[{ name: "requests", color: "indigo.6" }]}
            />
          </ChartCard>
          <ChartCard title="Cost by model">
            <Stack gap={4}>
              {modelRows.map((m) => (
                <Group key={m.model} justify="space-between">
                  <Text size="sm" ff="monospace">
                    {m.model}
                  </Text>
                  <Text size="sm">
                    {num(m.requests)} req · {num(m.tokens)} tok · {usd(m.costMicro)}
                  </Text>
                </Group>
              ))}
            </Stack>
          </ChartCard>
        </SimpleGrid>
      )}
    </Stack>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Paper withBorder p="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text fw={700} size="xl" data-testid={testId}>
        {value}
      </Text>
    </Paper>
  );
}

/** A day with requests (the others are zero-filled around it). */
const active = (d: Day) => d.requests > 0;

function ChartCard({ title, testId, children }: { title: string; testId?: string; children: React.ReactNode }) {
  return (
    <Paper withBorder p="md" data-testid={testId}>
      <Text fw={600} mb="sm">
        {title}
      </Text>
      {children}
    </Paper>
  );
}
