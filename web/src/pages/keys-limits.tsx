/**
 * A key's own limits: allowed models (within the project's), requests and
 * tokens per minute (in place of the project's per-key limits) and a spend
 * budget over a day, a month or all time. The fields of the create dialog's
 * optional section and of the "Edit limits" dialog, the request bodies they
 * make, the server's errors on them, and the key list's summary.
 */
import { Button, Group, Modal, NumberInput, Progress, Select, Stack, TagsInput, Text, TextInput } from "@mantine/core";
import { type GetInputPropsReturnType, useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { type ApiKey, ApiError, api, type BudgetPeriod, formErrors, projectUrl } from "../api";
import { num, usd } from "../format";

export interface LimitsValues {
  allowedModels: string[];
  rpm: number | "";
  tpm: number | "";
  budgetUsd: string;
  budgetPeriod: BudgetPeriod;
}

export const BUDGET_PERIOD_OPTIONS = [
  { value: "day", label: "Per day (UTC)" },
  { value: "month", label: "Per month (UTC)" },
  { value: "total", label: "In total" },
];

/** How a period reads after an amount: "$0.0047 of $0.01 today". */
export const PERIOD_WORDS: Record<BudgetPeriod, string> = { day: "today", month: "this month", total: "in total" };

export const emptyLimits = (): LimitsValues => ({
  allowedModels: [],
  rpm: "",
  tpm: "",
  budgetUsd: "",
  budgetPeriod: "month",
});

/** "10.000000" → "10", "0.010000" → "0.01": the server's decimal as a person would type it. */
export const plainUsd = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);

function limitsOf(k: ApiKey): LimitsValues {
  return {
    allowedModels: k.allowedModels ?? [],
    rpm: k.rateLimit.rpm ?? "",
    tpm: k.rateLimit.tpm ?? "",
    budgetUsd: k.budget ? plainUsd(k.budget.amountUsd) : "",
    budgetPeriod: k.budget?.period ?? "month",
  };
}

const limit = (v: number | "") => (v === "" ? null : v);

/** A new key's limits: only what was set (nothing: the project's settings, no budget). */
export function createLimitsBody(v: LimitsValues) {
  const budget = v.budgetUsd.trim();
  return {
    ...(v.allowedModels.length ? { allowedModels: v.allowedModels } : {}),
    ...(v.rpm !== "" || v.tpm !== "" ? { rateLimit: { rpm: limit(v.rpm), tpm: limit(v.tpm) } } : {}),
    ...(budget ? { budgetUsd: budget, budgetPeriod: v.budgetPeriod } : {}),
  };
}

/** A key's changed limits; an emptied field goes back to the project's (models, limits) or to no budget. */
function patchLimitsBody(v: LimitsValues, dirty: (field: keyof LimitsValues) => boolean) {
  const budget = v.budgetUsd.trim();
  const rateLimit = {
    ...(dirty("rpm") ? { rpm: limit(v.rpm) } : {}),
    ...(dirty("tpm") ? { tpm: limit(v.tpm) } : {}),
  };
  return {
    ...(dirty("allowedModels") ? { allowedModels: v.allowedModels.length ? v.allowedModels : null } : {}),
    ...(Object.keys(rateLimit).length ? { rateLimit } : {}),
    ...(dirty("budgetUsd") || dirty("budgetPeriod")
      ? { budgetUsd: budget || null, ...(budget ? { budgetPeriod: v.budgetPeriod } : {}) }
      : {}),
  };
}

const LIMIT_FIELDS = ["allowedModels", "rateLimit", "rateLimit.rpm", "rateLimit.tpm", "budgetUsd", "budgetPeriod"];

/** The server's errors under the form's field names; `fields`: the form's other fields. */
export function limitsErrors(err: unknown, fields: readonly string[]) {
  const e = formErrors(err, [...fields, ...LIMIT_FIELDS]);
  const out: Record<string, string> = { ...e.fields };
  const rpm = out["rateLimit.rpm"] ?? out.rateLimit;
  if (rpm) out.rpm = rpm;
  if (out["rateLimit.tpm"]) out.tpm = out["rateLimit.tpm"];
  if (err instanceof ApiError && err.code === "KEY_MODELS_OUTSIDE_PROJECT") out.allowedModels = err.message;
  if (err instanceof ApiError && err.code === "BUDGET_REQUIRED") out.budgetUsd = err.message;
  delete out.rateLimit;
  delete out["rateLimit.rpm"];
  delete out["rateLimit.tpm"];
  const general = Object.keys(out).length ? null : e.general;
  return { fields: out, general, onLimits: Object.keys(out).some((f) => f in emptyLimits()) };
}

export function LimitsFields(props: {
  input: (field: keyof LimitsValues) => GetInputPropsReturnType;
  /** The project's allowed models (empty when it allows every model). */
  suggestions: string[];
}) {
  return (
    <Stack gap="sm" data-testid="key-limits-fields">
      <TagsInput
        label="Allowed models"
        placeholder="Type a model id and press Enter"
        description="Within the project's: provider/model or provider/*. Empty: the project's models."
        data={props.suggestions}
        {...props.input("allowedModels")}
      />
      <Group grow align="flex-start">
        <NumberInput
          label="Requests per minute"
          placeholder="project's per-key limit"
          min={1}
          allowDecimal={false}
          {...props.input("rpm")}
        />
        <NumberInput
          label="Tokens per minute"
          placeholder="project's per-key limit"
          min={1}
          allowDecimal={false}
          {...props.input("tpm")}
        />
      </Group>
      <Group grow align="flex-start">
        <TextInput
          label="Budget (USD)"
          placeholder="no budget"
          description="Requests are refused once the key has spent this much in the period."
          {...props.input("budgetUsd")}
        />
        <Select
          label="Budget period"
          data={BUDGET_PERIOD_OPTIONS}
          allowDeselect={false}
          {...props.input("budgetPeriod")}
        />
      </Group>
    </Stack>
  );
}

/** The key list's cell: spend against the budget with a bar, and the key's own models and limits. */
export function KeyLimitsSummary({ apiKey: k }: { apiKey: ApiKey }) {
  const b = k.budget;
  const { rpm, tpm } = k.rateLimit;
  const own = [rpm !== null && `${num(rpm)} req/min`, tpm !== null && `${num(tpm)} tokens/min`].filter(Boolean);
  if (!b && !k.allowedModels && own.length === 0)
    return (
      <Text size="xs" c="dimmed">
        project's
      </Text>
    );
  const spent = b ? BigInt(b.spentMicroUsd) : 0n;
  const amount = b ? BigInt(b.amountMicroUsd) : 0n;
  const pct = amount > 0n ? Math.min(100, Number((spent * 10_000n) / amount) / 100) : 100;
  return (
    <Stack gap={4} miw={160}>
      {b && (
        <Stack gap={2} data-testid="key-budget">
          <Text size="xs">
            {usd(spent)} of {usd(amount)} {PERIOD_WORDS[b.period]}
          </Text>
          <Progress
            value={pct}
            size="sm"
            color={pct >= 100 ? "red" : pct >= 80 ? "yellow" : "indigo"}
            aria-label={`Budget used: ${Math.round(pct)}%`}
          />
        </Stack>
      )}
      {k.allowedModels && (
        <Text size="xs" data-testid="key-models">
          Models: {k.allowedModels.length ? k.allowedModels.join(", ") : "none"}
        </Text>
      )}
      {own.length > 0 && (
        <Text size="xs" data-testid="key-rate-limit">
          {own.join(" · ")}
        </Text>
      )}
    </Stack>
  );
}

/** "Edit limits": PATCHes what changed; an emptied budget removes it. */
export function EditLimitsModal(props: {
  org: string;
  project: string;
  apiKey: ApiKey | null;
  suggestions: string[];
  onClose: () => void;
}) {
  return (
    <Modal opened={!!props.apiKey} onClose={props.onClose} title={`Limits of “${props.apiKey?.name ?? ""}”`} size="lg">
      {props.apiKey && <EditLimitsForm key={props.apiKey.id} {...props} apiKey={props.apiKey} />}
    </Modal>
  );
}

function EditLimitsForm(props: {
  org: string;
  project: string;
  apiKey: ApiKey;
  suggestions: string[];
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm<LimitsValues>({ initialValues: limitsOf(props.apiKey) });
  const save = useMutation({
    mutationFn: (v: LimitsValues) =>
      api.patch<ApiKey>(
        projectUrl(props.org, props.project, `/keys/${props.apiKey.id}`),
        patchLimitsBody(v, (f) => form.isDirty(f)),
      ),
    onSuccess: async (k) => {
      notifications.show({ color: "green", message: `Limits of “${k.name}” saved. They apply to its next request.` });
      await qc.invalidateQueries({ queryKey: ["org", props.org, "project", props.project, "keys"] });
      props.onClose();
    },
    onError: (err) => {
      const e = limitsErrors(err, []);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate>
      <Stack>
        <Text size="sm" c="dimmed">
          Empty fields fall back to the project's settings; an empty budget means none.
        </Text>
        <LimitsFields input={(f) => form.getInputProps(f)} suggestions={props.suggestions} />
        {general && (
          <Text c="red" size="sm" role="alert">
            {general}
          </Text>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={save.isPending} disabled={!form.isDirty()}>
            Save limits
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
