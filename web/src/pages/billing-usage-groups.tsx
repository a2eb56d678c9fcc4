/**
 * The billing page's usage grouped by one dimension (`groupBy`): day, project,
 * model, API key, tag (`x-tollgate-tags`) or end user (`user`) — a chart of the
 * dearest groups and the whole table. Requests without a tag or end user are
 * one row of their own; a request with several tags counts under each.
 */
import { BarChart } from "@mantine/charts";
import { Code, Stack, Table, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { api, orgUrl, qs } from "../api";
import type { UsageGroup, UsageGroups } from "../api-usage";
import { FEW, LabelledBars } from "../charts";
import { num, usd } from "../format";
import { PageLoader, QueryError } from "../session";

export const GROUP_LABELS: Record<UsageGroup, string> = {
  day: "Day",
  project: "Project",
  model: "Model",
  key: "API key",
  tag: "Tag",
  user: "End user",
};

const NONE: Partial<Record<UsageGroup, string>> = { tag: "(no tag)", user: "(no end user)" };
/** Groups drawn in the chart (the table has them all). */
const CHARTED = 15;

function nameOf(groupBy: UsageGroup, value: string, label: string | null): string {
  if (value === "") return NONE[groupBy] ?? "—";
  if (groupBy === "project") return label ?? "(deleted project)";
  if (groupBy === "key") return label ?? `(deleted key) ${value}`;
  return value;
}

export function UsageGroupsView({ org, from, groupBy }: { org: string; from: Date; groupBy: UsageGroup }) {
  const report = useQuery({
    queryKey: ["org", org, "billing-usage", "groups", groupBy, from.toISOString()],
    queryFn: () => api.get<UsageGroups>(orgUrl(org, `/billing/usage${qs({ from: from.toISOString(), groupBy })}`)),
  });
  if (report.isPending) return <PageLoader />;
  if (report.error) return <QueryError error={report.error} retry={() => report.refetch()} />;
  const { rows, totals } = report.data;
  if (rows.length === 0)
    return (
      <Text c="dimmed" size="sm">
        No billed usage in this period.
      </Text>
    );
  const label = GROUP_LABELS[groupBy];
  const chart = (groupBy === "day" ? rows : rows.slice(0, CHARTED)).map((r) => ({
    name: groupBy === "day" ? r.value.slice(5) : nameOf(groupBy, r.value, r.label),
    cost: Number(r.costMicroUsd) / 1e6,
  }));
  return (
    <Stack>
      <Text size="sm" data-testid="billing-usage-group-totals">
        {num(totals.requests)} requests · {usd(totals.costMicroUsd)} by {label.toLowerCase()}
        {groupBy === "tag" && " (a request with several tags counts under each of them)"}
      </Text>
      {chart.length < FEW ? (
        <LabelledBars
          data={chart}
          dataKey="name"
          series={[{ name: "cost", color: "grape.6" }]}
          valueFormatter={(v) => `$${v.toFixed(4)}`}
        />
      ) : (
        <BarChart
          h={220}
          data={chart}
          dataKey="name"
          series={[{ name: "cost", color: "grape.6" }]}
          valueFormatter={(v) => `$${v.toFixed(4)}`}
        />
      )}
      <Table.ScrollContainer minWidth={560}>
        <Table striped aria-label={`Usage by ${label.toLowerCase()}`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{label}</Table.Th>
              <Table.Th ta="right">Requests</Table.Th>
              <Table.Th ta="right">Input tokens</Table.Th>
              <Table.Th ta="right">Output tokens</Table.Th>
              <Table.Th ta="right">Cost</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.value} data-testid="usage-group-row">
                <Table.Td>
                  {r.value === "" ? (
                    <Text size="sm" c="dimmed" span>
                      {nameOf(groupBy, r.value, r.label)}
                    </Text>
                  ) : groupBy === "tag" || groupBy === "user" || groupBy === "model" ? (
                    <Code>{r.value}</Code>
                  ) : (
                    nameOf(groupBy, r.value, r.label)
                  )}
                </Table.Td>
                <Table.Td ta="right">{num(r.requests)}</Table.Td>
                <Table.Td ta="right">{num(Number(r.inputTokens))}</Table.Td>
                <Table.Td ta="right">{num(Number(r.outputTokens))}</Table.Td>
                <Table.Td ta="right">{usd(r.costMicroUsd)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
