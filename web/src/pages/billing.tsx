/**
 * Billing (owners, admins): the balance (with credits held by requests in
 * flight), this month's spend, adding credits (Stripe Checkout, saved cards,
 * auto top-up — or the operator's CLI without Stripe), usage
 * charts by day / project / model (or grouped by one dimension, tags and end
 * users included: billing-usage-groups.tsx), and the ledger. Without prepaid credits
 * (TOLLGATE_BILLING=off) there is no balance to show or fill: only spend and
 * usage. Money stays in micro-USD BigInts until it is drawn.
 */
import { BarChart } from "@mantine/charts";
import {
  Badge,
  Button,
  Group,
  Paper,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
  type MantineColor,
} from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { api, type BillingSummary, orgUrl, qs, type Transaction, type UsageReport } from "../api";
import { USAGE_GROUPS, type UsageGroup } from "../api-usage";
import { FEW, LabelledBars, TimeChart } from "../charts";
import { dateTime, num, usd } from "../format";
import { PageLoader, QueryError, useCurrentOrg } from "../session";
import { Pager, useCursorPages } from "../paging";
import { BillingAlerts } from "./billing-alerts";
import { AutoTopupSettings } from "./billing-autotopup";
import { AddCredits, StripeReturnNotice } from "./billing-credits";
import { PaymentMethods } from "./billing-payment-methods";
import { GROUP_LABELS, UsageGroupsView } from "./billing-usage-groups";

const RANGES: Record<string, number> = { "7d": 7, "30d": 30, "90d": 90 };

export function BillingPage() {
  const org = useCurrentOrg()!;
  const summary = useQuery({
    queryKey: ["org", org.slug, "billing"],
    queryFn: () => api.get<BillingSummary>(orgUrl(org.slug, "/billing")),
  });
  return (
    <Stack>
      <Title order={2}>Billing</Title>
      <StripeReturnNotice />
      {summary.isPending ? (
        <PageLoader />
      ) : summary.error ? (
        <QueryError error={summary.error} retry={() => summary.refetch()} />
      ) : !summary.data.creditsEnabled ? (
        <>
          <Text size="sm" c="dimmed" data-testid="billing-credits-off">
            Prepaid credits are off on this instance: requests need no balance. Usage is still metered and priced below,
            and project spend caps still apply.
          </Text>
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            <Money
              label={`Spent since ${new Date(summary.data.monthStart).toLocaleDateString()}`}
              micro={summary.data.monthSpendMicroUsd}
              testId="billing-month-spend"
            />
          </SimpleGrid>
        </>
      ) : (
        <>
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            <Money label="Balance" micro={summary.data.balanceMicroUsd} testId="billing-balance" />
            <Money label="Held by requests in flight" micro={summary.data.reservedMicroUsd} />
            <Money label="Available" micro={summary.data.availableMicroUsd} />
            <Money
              label={`Spent since ${new Date(summary.data.monthStart).toLocaleDateString()}`}
              micro={summary.data.monthSpendMicroUsd}
              testId="billing-month-spend"
            />
          </SimpleGrid>
          <AddCredits summary={summary.data} />
          {summary.data.stripeConfigured && (
            <>
              <PaymentMethods />
              <AutoTopupSettings />
            </>
          )}
        </>
      )}
      <Usage org={org.slug} />
      <Transactions org={org.slug} />
      <BillingAlerts />
    </Stack>
  );
}

function Money({ label, micro, testId }: { label: string; micro: string; testId?: string }) {
  return (
    <Paper withBorder p="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text fw={700} size="xl" data-testid={testId}>
        {usd(micro)}
      </Text>
    </Paper>
  );
}

function Usage({ org }: { org: string }) {
  const [range, setRange] = useState("30d");
  const [groupBy, setGroupBy] = useState<UsageGroup | null>(null);
  const days = RANGES[range] ?? 30;
  const from = useMemo(
    () => new Date(new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10)),
    [days],
  );
  const report = useQuery({
    queryKey: ["org", org, "billing-usage", range],
    queryFn: () => api.get<UsageReport>(orgUrl(org, `/billing/usage${qs({ from: from.toISOString() })}`)),
    enabled: groupBy === null,
  });
  const charts = useMemo(() => {
    if (!report.data) return null;
    const byDay = new Map<string, { cost: bigint; requests: number }>();
    for (let i = 0; i < days; i++)
      byDay.set(new Date(from.getTime() + i * 86_400_000).toISOString().slice(0, 10), { cost: 0n, requests: 0 });
    const byProject = new Map<string, { cost: bigint; requests: number }>();
    const byModel = new Map<string, { cost: bigint; requests: number }>();
    for (const r of report.data.rows) {
      const d = r.day.slice(0, 10);
      const day = byDay.get(d) ?? { cost: 0n, requests: 0 };
      day.cost += BigInt(r.costMicroUsd);
      day.requests += r.requests;
      byDay.set(d, day);
      const p = byProject.get(r.projectSlug ?? "(deleted project)") ?? { cost: 0n, requests: 0 };
      p.cost += BigInt(r.costMicroUsd);
      p.requests += r.requests;
      byProject.set(r.projectSlug ?? "(deleted project)", p);
      const m = byModel.get(r.model) ?? { cost: 0n, requests: 0 };
      m.cost += BigInt(r.costMicroUsd);
      m.requests += r.requests;
      byModel.set(r.model, m);
    }
    const toNum = (micro: bigint) => Number(micro) / 1e6;
    return {
      days: [...byDay]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([day, v]) => ({ day: day.slice(5), cost: toNum(v.cost), requests: v.requests })),
      projects: [...byProject]
        .map(([name, v]) => ({ name, cost: toNum(v.cost), requests: v.requests }))
        .sort((a, b) => b.cost - a.cost),
      models: [...byModel]
        .map(([name, v]) => ({ name, cost: toNum(v.cost), requests: v.requests }))
        .sort((a, b) => b.cost - a.cost),
    };
  }, [report.data, days, from]);
  const money = (v: number) => `$${v.toFixed(4)}`;

  return (
    <Paper withBorder p="md">
      <Stack>
        <Group justify="space-between">
          <Title order={3}>Usage</Title>
          <Group gap="xs">
            <Select
              size="xs"
              w={150}
              aria-label="Group by"
              placeholder="Group by…"
              data={USAGE_GROUPS.map((g) => ({ value: g, label: `By ${GROUP_LABELS[g].toLowerCase()}` }))}
              value={groupBy}
              onChange={(v) => setGroupBy(v as UsageGroup | null)}
              clearable
            />
            <SegmentedControl
              size="xs"
              value={range}
              onChange={setRange}
              data={Object.keys(RANGES)}
              aria-label="Usage range"
            />
            <Button
              component="a"
              size="xs"
              variant="default"
              href={orgUrl(org, `/billing/usage${qs({ from: from.toISOString(), groupBy, format: "csv" })}`)}
              download
            >
              Export CSV
            </Button>
          </Group>
        </Group>
        {groupBy !== null ? (
          <UsageGroupsView org={org} from={from} groupBy={groupBy} />
        ) : report.isPending ? (
          <PageLoader />
        ) : report.error ? (
          <QueryError error={report.error} retry={() => report.refetch()} />
        ) : report.data.rows.length === 0 ? (
          <Text c="dimmed" size="sm">
            No billed usage in this period. Every request is billed here at what its provider reported; free models
            (such as mock/echo) cost nothing.
          </Text>
        ) : (
          <>
            <Text size="sm" data-testid="billing-usage-totals">
              {num(report.data.totals.requests)} requests · {usd(report.data.totals.costMicroUsd)} in the last {days}{" "}
              days
            </Text>
            <SimpleGrid cols={{ base: 1, lg: 3 }}>
              <div>
                <Text fw={600} size="sm" mb="xs">
                  Cost by day
                </Text>
                <TimeChart
                  kind="area"
                  h={200}
                  data={charts!.days}
                  dataKey="day"
                  hasData={(d) => d.requests > 0}
                  series={[{ name: "cost", color: "grape.6" }]}
                  valueFormatter={money}
                />
              </div>
              <div>
                <Text fw={600} size="sm" mb="xs">
                  Cost by project
                </Text>
                <CategoryBars data={charts!.projects} color="indigo.6" valueFormatter={money} />
              </div>
              <div>
                <Text fw={600} size="sm" mb="xs">
                  Cost by model
                </Text>
                <CategoryBars data={charts!.models} color="teal.6" valueFormatter={money} />
              </div>
            </SimpleGrid>
          </>
        )}
      </Stack>
    </Paper>
  );
}

/** Cost per project or model: labelled when there are only a few bars. */
function CategoryBars({
  data,
  color,
  valueFormatter,
}: {
  data: { name: string; cost: number }[];
  color: MantineColor;
  valueFormatter: (v: number) => string;
}) {
  const series = [{ name: "cost", color }];
  return data.length < FEW ? (
    <LabelledBars h={200} data={data} dataKey="name" series={series} valueFormatter={valueFormatter} />
  ) : (
    <BarChart h={200} data={data} dataKey="name" series={series} valueFormatter={valueFormatter} />
  );
}

function Transactions({ org }: { org: string }) {
  const [kind, setKind] = useState<string | null>(null);
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const page = useQuery({
    queryKey: ["org", org, "transactions", kind, cursor],
    queryFn: () =>
      api.get<{ transactions: Transaction[]; nextCursor: string | null }>(
        orgUrl(org, `/billing/transactions${qs({ kind, cursor, limit: 25 })}`),
      ),
    placeholderData: keepPreviousData,
  });
  return (
    <Paper withBorder p="md">
      <Stack>
        <Group justify="space-between">
          <Title order={3}>Transactions</Title>
          <Select
            aria-label="Kind"
            placeholder="All kinds"
            data={["topup", "grant", "usage", "refund", "adjustment"]}
            value={kind}
            onChange={(v) => {
              setKind(v);
              pages.reset();
            }}
            clearable
            w={160}
            size="xs"
          />
        </Group>
        {page.isPending ? (
          <PageLoader />
        ) : page.error ? (
          <QueryError error={page.error} retry={() => page.refetch()} />
        ) : page.data.transactions.length === 0 ? (
          <Text c="dimmed" size="sm">
            No transactions yet.
          </Text>
        ) : (
          <>
            <Table.ScrollContainer minWidth={640}>
              <Table striped aria-label="Transactions">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Time</Table.Th>
                    <Table.Th>Kind</Table.Th>
                    <Table.Th>Amount</Table.Th>
                    <Table.Th>Details</Table.Th>
                    <Table.Th>By</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {page.data.transactions.map((t) => (
                    <Table.Tr key={t.id}>
                      <Table.Td>{dateTime(t.createdAt)}</Table.Td>
                      <Table.Td>
                        <Badge variant="light" color={t.kind === "usage" ? "gray" : "green"}>
                          {t.kind}
                        </Badge>
                      </Table.Td>
                      <Table.Td c={BigInt(t.amountMicroUsd) < 0n ? "red" : "green"}>{usd(t.amountMicroUsd)}</Table.Td>
                      <Table.Td>{t.note || (t.requests !== null ? `${num(t.requests)} requests` : "")}</Table.Td>
                      <Table.Td>{t.actor.email ?? "—"}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            <Pager pages={pages} nextCursor={page.data.nextCursor} />
          </>
        )}
      </Stack>
    </Paper>
  );
}
