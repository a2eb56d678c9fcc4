/**
 * The create / edit dialog of a virtual model: its name, the strategy (each
 * explained in a line), the targets as rows — a model (suggested from the
 * mock models and the organization's providers), a weight when the strategy
 * is weighted, and optional temperature and max tokens overrides — and a
 * description. Overrides set elsewhere (the API takes more fields) are kept
 * as they are. The server's refusals show on the field they concern (a name
 * taken, a target no provider serves), else above the buttons.
 */
import {
  ActionIcon,
  Autocomplete,
  Button,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  Text,
  Textarea,
  TextInput,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError, api, orgUrl, type Provider } from "../api";
import {
  describeParams,
  STRATEGIES,
  strategyOf,
  type VirtualModel,
  type VirtualModelBody,
  type VirtualStrategy,
  type VirtualTargetParams,
  virtualModelsKey,
  virtualModelsUrl,
} from "../api-virtual-models";

const MAX_TARGETS = 10;
/** Always there: the built-in mock provider's chat models. */
const BUILT_IN = ["mock/echo", "mock/lorem"];

interface TargetRow {
  model: string;
  weight: number | string;
  temperature: number | string;
  maxTokens: number | string;
  /** Overrides this form has no input for, kept as they are. */
  other: VirtualTargetParams;
}

const emptyTarget = (): TargetRow => ({ model: "", weight: 1, temperature: "", maxTokens: "", other: {} });

function rowOf(t: VirtualModel["targets"][number]): TargetRow {
  const { temperature, max_tokens, ...other } = t.params ?? {};
  return { model: t.model, weight: t.weight, temperature: temperature ?? "", maxTokens: max_tokens ?? "", other };
}

type Values = { name: string; strategy: VirtualStrategy; targets: TargetRow[]; description: string };

function bodyOf(v: Values): VirtualModelBody {
  return {
    name: v.name.trim(),
    strategy: v.strategy,
    description: v.description.trim(),
    targets: v.targets.map((t) => {
      const params: VirtualTargetParams = {
        ...t.other,
        ...(t.temperature !== "" ? { temperature: Number(t.temperature) } : {}),
        ...(t.maxTokens !== "" ? { max_tokens: Number(t.maxTokens) } : {}),
      };
      return {
        model: t.model.trim(),
        ...(v.strategy === "weighted" ? { weight: Number(t.weight) } : {}),
        ...(Object.keys(params).length ? { params } : {}),
      };
    }),
  };
}

/** The server's refusal as inline errors where a field matches, else one message for the form. */
function serverErrors(err: unknown, v: Values): { fields: Record<string, string>; general: string | null } {
  if (!(err instanceof ApiError))
    return { fields: {}, general: err instanceof Error ? err.message : "Something went wrong." };
  const fields: Record<string, string> = {};
  const rest: string[] = [];
  if (err.code === "VIRTUAL_MODEL_NAME_TAKEN") fields.name = err.message;
  if (err.code === "VIRTUAL_MODEL_TARGET_INVALID") {
    const i = v.targets.findIndex((t) => t.model.trim() && err.message.includes(`"${t.model.trim()}"`));
    if (i >= 0) fields[`targets.${i}.model`] = err.message;
  }
  for (const [path, message] of Object.entries(err.fieldErrors())) {
    const key = path
      .replace(/^targets\.(\d+)\.params\.temperature$/, "targets.$1.temperature")
      .replace(/^targets\.(\d+)\.params\.max_tokens$/, "targets.$1.maxTokens");
    if (/^(name|strategy|description)$|^targets\.\d+\.(model|weight|temperature|maxTokens)$/.test(key))
      fields[key] ??= message;
    else rest.push(`${path}: ${message}`);
  }
  const general = rest.length ? rest.join(" ") : Object.keys(fields).length ? null : err.message;
  return { fields, general };
}

/** Model names to suggest: the mock models and every model the organization's providers list. */
function useSuggestions(org: string): string[] {
  const providers = useQuery({
    queryKey: ["org", org, "providers"],
    queryFn: () => api.get<{ providers: Provider[] }>(orgUrl(org, "/providers")),
  });
  const names = new Set(BUILT_IN);
  for (const p of providers.data?.providers ?? [])
    for (const m of [...p.models, ...(p.discoveredModels ?? [])]) names.add(`${p.slug}/${m.id}`);
  return [...names];
}

export function VirtualModelModal({ org, vm, onClose }: { org: string; vm: VirtualModel | null; onClose: () => void }) {
  return (
    <Modal opened onClose={onClose} title={vm ? `Edit ${vm.name}` : "Create virtual model"} size="xl">
      <VirtualModelForm org={org} vm={vm} onClose={onClose} />
    </Modal>
  );
}

const whole = (v: number | string, min: number, max: number) => {
  const n = Number(v);
  return v !== "" && Number.isInteger(n) && n >= min && n <= max;
};

function VirtualModelForm({ org, vm, onClose }: { org: string; vm: VirtualModel | null; onClose: () => void }) {
  const qc = useQueryClient();
  const suggestions = useSuggestions(org);
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm<Values>({
    initialValues: {
      name: vm?.name ?? "",
      strategy: vm?.strategy ?? "fallback",
      targets: vm ? vm.targets.map(rowOf) : [emptyTarget()],
      description: vm?.description ?? "",
    },
    validate: {
      name: (v) => (v.trim() ? null : "Name is required."),
      targets: {
        model: (v) => (v.trim() ? null : "Enter a model, e.g. provider/model."),
        weight: (v, values) =>
          values.strategy !== "weighted" || whole(v, 1, 1000) ? null : "A whole number from 1 to 1000.",
        temperature: (v) => (v === "" || (Number(v) >= 0 && Number(v) <= 2) ? null : "From 0 to 2."),
        maxTokens: (v) => (v === "" || whole(v, 1, 10_000_000) ? null : "A whole number of at least 1."),
      },
    },
  });
  const save = useMutation({
    mutationFn: (v: Values) => {
      const body = bodyOf(v);
      return vm
        ? api.patch<VirtualModel>(virtualModelsUrl(org, vm.name), body)
        : api.post<VirtualModel>(virtualModelsUrl(org), body);
    },
    onSuccess: async (saved) => {
      notifications.show({ color: "green", message: vm ? `${saved.name} saved.` : `${saved.name} created.` });
      await qc.invalidateQueries({ queryKey: virtualModelsKey(org) });
      onClose();
    },
    onError: (err) => {
      const e = serverErrors(err, form.values);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  const weighted = form.values.strategy === "weighted";
  const total = form.values.targets.reduce((s, t) => s + Math.max(Number(t.weight) || 0, 0), 0);
  return (
    <form
      onSubmit={form.onSubmit((v) => {
        setGeneral(null);
        save.mutate(v);
      })}
      noValidate
    >
      <Stack>
        <TextInput
          label="Name"
          placeholder="smart"
          description={'Clients send it as "model". Letters, digits, ".", "_", ":" and "-".'}
          required
          data-autofocus
          {...form.getInputProps("name")}
        />
        <Select
          label="Strategy"
          data={STRATEGIES.map((s) => ({ value: s.value, label: s.label }))}
          allowDeselect={false}
          description={strategyOf(form.values.strategy).explanation}
          renderOption={({ option }) => (
            <Stack gap={0}>
              <Text size="sm">{option.label}</Text>
              <Text size="xs" c="dimmed">
                {strategyOf(option.value as VirtualStrategy).explanation}
              </Text>
            </Stack>
          )}
          {...form.getInputProps("strategy")}
        />
        <Text fw={600} size="sm">
          {form.values.strategy === "fallback" ? "Targets (tried in this order)" : "Targets"}
        </Text>
        {form.values.targets.map((t, i) => {
          const n = i + 1;
          const kept = describeParams(t.other);
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity; each input is controlled by form.values at its index
            <Stack key={i} gap={4} data-testid="virtual-model-target-row">
              <Group align="flex-start" gap="xs" wrap="wrap">
                <Autocomplete
                  label={i === 0 ? "Model" : undefined}
                  aria-label={`Target ${n} model`}
                  placeholder="provider/model"
                  data={suggestions}
                  limit={50}
                  w={260}
                  {...form.getInputProps(`targets.${i}.model`)}
                />
                {weighted && (
                  <NumberInput
                    label={i === 0 ? "Weight" : undefined}
                    aria-label={`Target ${n} weight`}
                    min={1}
                    max={1000}
                    allowDecimal={false}
                    w={90}
                    rightSection={
                      <Text size="xs" c="dimmed" pr={4}>
                        {total > 0 && Number(t.weight) > 0 ? `${Math.round((Number(t.weight) / total) * 100)}%` : ""}
                      </Text>
                    }
                    rightSectionWidth={40}
                    {...form.getInputProps(`targets.${i}.weight`)}
                  />
                )}
                <NumberInput
                  label={i === 0 ? "Temperature" : undefined}
                  aria-label={`Target ${n} temperature`}
                  placeholder="as sent"
                  min={0}
                  max={2}
                  step={0.1}
                  decimalScale={2}
                  w={110}
                  {...form.getInputProps(`targets.${i}.temperature`)}
                />
                <NumberInput
                  label={i === 0 ? "Max tokens" : undefined}
                  aria-label={`Target ${n} max tokens`}
                  placeholder="as sent"
                  min={1}
                  allowDecimal={false}
                  w={120}
                  {...form.getInputProps(`targets.${i}.maxTokens`)}
                />
                <Group gap={2} mt={i === 0 ? 28 : 4} wrap="nowrap">
                  <ActionIcon
                    variant="subtle"
                    aria-label={`Move target ${n} up`}
                    disabled={i === 0}
                    onClick={() => form.reorderListItem("targets", { from: i, to: i - 1 })}
                  >
                    ↑
                  </ActionIcon>
                  <ActionIcon
                    variant="subtle"
                    color="red"
                    aria-label={`Remove target ${n}`}
                    disabled={form.values.targets.length === 1}
                    onClick={() => form.removeListItem("targets", i)}
                  >
                    ×
                  </ActionIcon>
                </Group>
              </Group>
              {kept && (
                <Text size="xs" c="dimmed">
                  Also overrides (kept): {kept}
                </Text>
              )}
            </Stack>
          );
        })}
        <Group gap="xs">
          <Button
            variant="subtle"
            size="xs"
            disabled={form.values.targets.length >= MAX_TARGETS}
            onClick={() => form.insertListItem("targets", emptyTarget())}
          >
            Add target
          </Button>
          <Text size="xs" c="dimmed">
            Temperature and max tokens replace what the request sends; leave them empty to keep it.
          </Text>
        </Group>
        <Textarea
          label="Description"
          placeholder="What this name is for"
          autosize
          minRows={2}
          {...form.getInputProps("description")}
        />
        {general && (
          <Text c="red" size="sm" role="alert">
            {general}
          </Text>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={save.isPending}>
            {vm ? "Save" : "Create"}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
