/** Project settings (owners, admins): models, limits, spend cap, log bodies, member assignment, deletion. */
import {
  Alert,
  Button,
  Group,
  MultiSelect,
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
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useNavigate, useParams } from "react-router";
import {
  api,
  formErrors,
  type Member,
  orgUrl,
  PII_TYPES,
  type Project,
  type ProjectMember,
  type ProjectPolicy,
  projectUrl,
} from "../api";
import { PII_ACTIONS, PII_LABELS } from "./security";
import { PageLoader, QueryError } from "../session";
import { useProject } from "./project";

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
  };
}

export function ProjectSettingsPage() {
  const project = useProject();
  if (project.isPending) return <PageLoader />;
  if (project.error) return <QueryError error={project.error} />;
  return (
    <Stack maw={760}>
      <SettingsForm project={project.data} />
      <Assignment />
      <PolicyOverride />
      <DeleteProject project={project.data} />
    </Stack>
  );
}

function SettingsForm({ project }: { project: Project }) {
  const { org = "" } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({ initialValues: valuesOf(project) });
  useEffect(() => {
    form.setValues(valuesOf(project));
    form.resetDirty();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [project.updatedAt]);
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
      }),
    onSuccess: async (p) => {
      setGeneral(null);
      notifications.show({ color: "green", message: "Project settings saved." });
      await qc.invalidateQueries({ queryKey: ["org", org] });
      if (p.slug !== project.slug) navigate(`/${org}/projects/${p.slug}/settings`, { replace: true });
    },
    onError: (err) => {
      const e = formErrors(err, FIELDS);
      const fields: Record<string, string> = { ...e.fields };
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

function Assignment() {
  const { org = "", project = "" } = useParams();
  const qc = useQueryClient();
  const members = useQuery({
    queryKey: ["org", org, "members"],
    queryFn: () => api.get<{ members: Member[] }>(orgUrl(org, "/members")),
  });
  const assigned = useQuery({
    queryKey: ["org", org, "project", project, "members"],
    queryFn: () => api.get<{ members: ProjectMember[] }>(projectUrl(org, project, "/members")),
  });
  const [selected, setSelected] = useState<string[] | null>(null);
  const current = selected ?? assigned.data?.members.map((m) => m.userId) ?? [];
  const save = useMutation({
    mutationFn: (userIds: string[]) => api.put(projectUrl(org, project, "/members"), { userIds }),
    onSuccess: async () => {
      setSelected(null);
      notifications.show({ color: "green", message: "Project members saved." });
      await qc.invalidateQueries({ queryKey: ["org", org, "project", project, "members"] });
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  if (members.isPending || assigned.isPending) return <PageLoader />;
  if (members.error || assigned.error) return <QueryError error={members.error ?? assigned.error} />;
  const candidates = members.data.members.filter((m) => m.role === "member");
  return (
    <Paper withBorder p="lg">
      <Stack>
        <Title order={4}>Members</Title>
        <Text size="sm" c="dimmed">
          Owners and admins reach every project. Members reach only the projects they are assigned to; those who lose
          access lose their keys for this project.
        </Text>
        {candidates.length === 0 ? (
          <Alert color="gray">
            This organization has no members with the Member role. Invite people under Team first.
          </Alert>
        ) : (
          <>
            <MultiSelect
              label="Assigned members"
              data={candidates.map((m) => ({ value: m.userId, label: `${m.name} (${m.email})` }))}
              value={current}
              onChange={setSelected}
              searchable
            />
            <Group justify="flex-end">
              <Button onClick={() => save.mutate(current)} loading={save.isPending} disabled={selected === null}>
                Save members
              </Button>
            </Group>
          </>
        )}
      </Stack>
    </Paper>
  );
}

function DeleteProject({ project }: { project: Project }) {
  const { org = "" } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const form = useForm({ initialValues: { confirm: "" } });
  const remove = useMutation({
    mutationFn: (confirm: string) => api.del(projectUrl(org, project.slug), { confirm }),
    onSuccess: async () => {
      notifications.show({ color: "green", message: `${project.name} was deleted.` });
      await qc.invalidateQueries({ queryKey: ["org", org, "projects"] });
      navigate(`/${org}`, { replace: true });
    },
    onError: (err) => form.setErrors({ confirm: err.message }),
  });
  return (
    <Paper withBorder p="lg" style={{ borderColor: "var(--mantine-color-red-4)" }}>
      <form onSubmit={form.onSubmit((v) => remove.mutate(v.confirm))}>
        <Stack>
          <Title order={4}>Delete project</Title>
          <Text size="sm">Deletes the project with its keys (dead at once), settings and request logs.</Text>
          <TextInput
            label={`Type “${project.slug}” to confirm`}
            autoComplete="off"
            {...form.getInputProps("confirm")}
          />
          <Group justify="flex-end">
            <Button
              type="submit"
              color="red"
              disabled={form.values.confirm !== project.slug}
              loading={remove.isPending}
            >
              Delete project
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

const INHERIT = "inherit";

/** The project's override of the shared policy: each setting inherits, or tightens it (the server refuses loosening). */
function PolicyOverride() {
  const { org = "", project = "" } = useParams();
  const qc = useQueryClient();
  const key = ["org", org, "project", project, "security-policy"];
  const policy = useQuery({
    queryKey: key,
    queryFn: () => api.get<ProjectPolicy>(projectUrl(org, project, "/security-policy")),
  });
  const [draft, setDraft] = useState<Record<string, string> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (d: Record<string, string>) => {
      const current = policy.data!.override;
      const pii = Object.fromEntries(PII_TYPES.filter((t) => d[t] !== INHERIT).map((t) => [t, d[t]]));
      const body: Record<string, unknown> = { ...current, pii };
      if (d.injection === INHERIT) delete body.promptInjection;
      else body.promptInjection = { ...(current.promptInjection ?? {}), action: d.injection };
      return api.put<ProjectPolicy>(projectUrl(org, project, "/security-policy"), body);
    },
    onSuccess: (p) => {
      qc.setQueryData(key, p);
      setDraft(null);
      setError(null);
      notifications.show({ color: "green", message: "Project security policy saved." });
    },
    onError: (err) => setError(err.message),
  });
  if (policy.isPending) return <PageLoader />;
  if (policy.error) return <QueryError error={policy.error} />;
  const o = policy.data.override;
  const eff = policy.data.effective;
  const values: Record<string, string> = draft ?? {
    ...Object.fromEntries(PII_TYPES.map((t) => [t, o.pii?.[t] ?? INHERIT])),
    injection: o.promptInjection?.action ?? INHERIT,
  };
  const set = (k: string, v: string | null) => setDraft({ ...values, [k]: v ?? INHERIT });
  return (
    <Paper withBorder p="lg">
      <Stack>
        <Title order={4}>Security policy override</Title>
        <Text size="sm" c="dimmed">
          This project follows the organization's shared policy (Security page); here it can only be made stricter.
          “Effective” is what the gateway applies.
        </Text>
        {PII_TYPES.map((t) => (
          <Group key={t} justify="space-between" wrap="nowrap">
            <Text size="sm">{PII_LABELS[t]}</Text>
            <Group gap="xs" wrap="nowrap">
              <Text size="xs" c="dimmed">
                effective: {eff.pii[t]}
              </Text>
              <Select
                aria-label={`Override for ${PII_LABELS[t]}`}
                size="xs"
                w={130}
                data={[INHERIT, ...PII_ACTIONS]}
                value={values[t]!}
                onChange={(v) => set(t, v)}
                allowDeselect={false}
              />
            </Group>
          </Group>
        ))}
        <Group justify="space-between" wrap="nowrap">
          <Text size="sm">Prompt injection</Text>
          <Group gap="xs" wrap="nowrap">
            <Text size="xs" c="dimmed">
              effective: {eff.promptInjection.action}
            </Text>
            <Select
              aria-label="Override for prompt injection"
              size="xs"
              w={130}
              data={[INHERIT, "off", "log", "block"]}
              value={values.injection!}
              onChange={(v) => set("injection", v)}
              allowDeselect={false}
            />
          </Group>
        </Group>
        {error && (
          <Text c="red" size="sm" role="alert">
            {error}
          </Text>
        )}
        <Group justify="flex-end">
          <Button onClick={() => save.mutate(values)} loading={save.isPending} disabled={!draft}>
            Save override
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}
