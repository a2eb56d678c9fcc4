/** The project settings form's budget per end user: an amount in USD (empty: none) over a day, a month or all time. */
import { Code, Group, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import type { GetInputPropsReturnType } from "@mantine/form";
import type { BudgetPeriod, Project } from "../api";
import { BUDGET_PERIOD_OPTIONS, plainUsd } from "./keys-limits";

/** The end-user budget's values of the settings form. */
export function endUserBudgetValues(b: Project["endUserBudget"]) {
  return { endUserBudgetUsd: b ? plainUsd(b.amountUsd) : "", endUserBudgetPeriod: (b?.period ?? "month") as string };
}

/** The API's fields: an empty amount removes the budget (its period then goes with it). */
export function endUserBudgetBody(v: { endUserBudgetUsd: string; endUserBudgetPeriod: string }) {
  const amount = v.endUserBudgetUsd.trim();
  return amount
    ? { endUserBudgetUsd: amount, endUserBudgetPeriod: v.endUserBudgetPeriod as BudgetPeriod }
    : { endUserBudgetUsd: null };
}

export function EndUserBudgetSection(props: { amount: GetInputPropsReturnType; period: GetInputPropsReturnType }) {
  return (
    <Stack gap="xs" data-testid="end-user-budget-settings">
      <Title order={5}>Budget per end user</Title>
      <Text size="sm" c="dimmed">
        Requests that name an end user (OpenAI's <Code>user</Code> field) are refused once that user has spent this much
        in the period; requests without one are not counted.
      </Text>
      <Group grow align="flex-start">
        <TextInput label="Budget per end user (USD)" placeholder="no budget" {...props.amount} />
        <Select label="End-user budget period" data={BUDGET_PERIOD_OPTIONS} allowDeselect={false} {...props.period} />
      </Group>
    </Stack>
  );
}
