/**
 * The project settings form: name, slug, models, rate limits, spend cap, log bodies and retention, response cache,
 * budget per end user.
 */
import {
  Button,
  Group,
  NumberInput,
  Paper,
  Select,
  Stack,
  Switch,
  TagsInput,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useNavigate, useParams } from "react-router";
import { api, formErrors, type Project, projectUrl } from "../api";
import { EndUserBudgetSection, endUserBudgetBody, endUserBudgetValues } from "./project-settings-budget";
import { CacheSection, cacheBody, cacheErrors, cacheValues } from "./project-settings-cache";

const FIELDS = [
  "name",
  "description",
  "environment",
  "defaultModel",
  "allowedModels",
  "rateLimit",
  "keyRateLimit",
  "monthlySpendCapUsd",
  "logBodies",
  "logRetentionDays",
  "cache",
  "cache.mode",
  "cache.ttlSeconds",
  "endUserBudgetUsd",
  "endUserBudgetPeriod",
  "slug",
];

function valuesOf(p: Project) {
  return {
    name: p.name,
    slug: p.slug,
    description: p.description,
    environment: p.environment,
    defaultModel: p.defaultModel ?? "",
    allowedModels: p.allowedModels,
    rpm: p.rateLimit.rpm ?? ("" as number | ""),
    tpm: p.rateLimit.tpm ?? ("" as number | ""),
    keyRpm: p.keyRateLimit.rpm ?? ("" as number | ""),
    keyTpm: p.keyRateLimit.tpm ?? ("" as number | ""),
    monthlySpendCapUsd: p.monthlySpendCapUsd ?? "",
    logBodies: p.logBodies,
    logRetentionDays: p.logRetentionDays ?? ("" as number | ""),
    ...cacheValues(p.cache),
    ...endUserBudgetValues(p.endUserBudget),
  };
}

export function SettingsForm({ project }: { project: Project }) {
  const { org = "" } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({ initialValues: valuesOf(project) });
  // biome-ignore lint/correctness/useExhaustiveDependencies: refills the form only when the server's copy changes (updatedAt); a new project object of the same version must not wipe edits in progress
  useEffect(() => {
    form.setValues(valuesOf(project));
    form.resetDirty();
  }, [project.updatedAt, form.setValues, form.resetDirty]);
  const limit = (v: number | "") => (v === "" ? null : v);
  const save = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.patch<Project>(projectUrl(org, project.slug), {
        name: v.name,
        ...(v.slug !== project.slug ? { slug: v.slug } : {}),
        description: v.description,
        environment: v.environment,
        defaultModel: v.defaultModel.trim() || null,
        allowedModels: v.allowedModels,
        rateLimit: { rpm: limit(v.rpm), tpm: limit(v.tpm) },
        keyRateLimit: { rpm: limit(v.keyRpm), tpm: limit(v.keyTpm) },
        monthlySpendCapUsd: v.monthlySpendCapUsd.trim() || null,
        logBodies: v.logBodies,
        logRetentionDays: v.logRetentionDays === "" ? null : v.logRetentionDays,
        cache: cacheBody(v),
        ...endUserBudgetBody(v),
      }),
    onSuccess: async (p) => {
      setGeneral(null);
      notifications.show({ color: "green", message: "Project settings saved." });
      await qc.invalidateQueries({ queryKey: ["org", org] });
      if (p.slug !== project.slug) navigate(`/${org}/projects/${p.slug}/settings`, { replace: true });
    },
    onError: (err) => {
      const e = formErrors(err, FIELDS);
      const fields: Record<string, string> = { ...e.fields, ...cacheErrors(e.fields) };
      if (fields.rateLimit) fields.rpm = fields.rateLimit;
      if (fields.keyRateLimit) fields.keyRpm = fields.keyRateLimit;
      form.setErrors(fields);
      setGeneral(e.general);
    },
  });
  return (
    <Paper withBorder p="lg">
      <form onSubmit={form.onSubmit((v) => save.mutate(v))}>
        <Stack>
          <Title order={4}>Settings</Title>
          <Group grow align="flex-start">
            <TextInput label="Name" {...form.getInputProps("name")} />
            <TextInput label="Slug" {...form.getInputProps("slug")} />
          </Group>
          <Textarea label="Description" autosize minRows={2} {...form.getInputProps("description")} />
          <Select
            label="Environment"
            data={["production", "staging", "development"]}
            allowDeselect={false}
            {...form.getInputProps("environment")}
          />
          <TextInput
            label="Default model"
            placeholder="mock/echo"
            description="Used when a request names no model."
            {...form.getInputProps("defaultModel")}
          />
          <TagsInput
            label="Allowed models"
            placeholder="Type a model id and press Enter"
            description="provider/model, or provider/* for all of a provider's models (e.g. openai/*). Empty: every model the organization can reach."
            {...form.getInputProps("allowedModels")}
          />
          <Group grow align="flex-start">
            <NumberInput
              label="Requests per minute"
              placeholder="no limit"
              min={1}
              allowDecimal={false}
              {...form.getInputProps("rpm")}
            />
            <NumberInput
              label="Tokens per minute"
              placeholder="no limit"
              min={1}
              allowDecimal={false}
              {...form.getInputProps("tpm")}
            />
          </Group>
          <Group grow align="flex-start">
            <NumberInput
              label="Per-key requests per minute"
              placeholder="no limit"
              min={1}
              allowDecimal={false}
              {...form.getInputProps("keyRpm")}
            />
            <NumberInput
              label="Per-key tokens per minute"
              placeholder="no limit"
              min={1}
              allowDecimal={false}
              {...form.getInputProps("keyTpm")}
            />
          </Group>
          <TextInput
            label="Monthly spend cap (USD)"
            placeholder="no cap"
            description="Requests are refused once the project has spent this much in the calendar month."
            {...form.getInputProps("monthlySpendCapUsd")}
          />
          <Switch
            label="Store prompt and response bodies in request logs"
            {...form.getInputProps("logBodies", { type: "checkbox" })}
          />
          <NumberInput
            label="Keep request logs for (days)"
            placeholder="server default"
            description="Older logs of this project are deleted by the retention job. Empty: the server's default."
            min={1}
            max={3650}
            allowDecimal={false}
            {...form.getInputProps("logRetentionDays")}
          />
          <CacheSection mode={form.getInputProps("cacheMode")} ttl={form.getInputProps("cacheTtlSeconds")} />
          <EndUserBudgetSection
            amount={form.getInputProps("endUserBudgetUsd")}
            period={form.getInputProps("endUserBudgetPeriod")}
          />
          {general && (
            <Text c="red" size="sm" role="alert">
              {general}
            </Text>
          )}
          <Group justify="flex-end">
            <Button type="submit" loading={save.isPending} disabled={!form.isDirty()}>
              Save settings
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
