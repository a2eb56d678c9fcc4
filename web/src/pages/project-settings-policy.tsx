/** Project settings: the project's override of the organization's security policy (PII and prompt injection). */
import { Button, Group, Paper, Select, Stack, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useParams } from "react-router";
import { api, PII_TYPES, type ProjectPolicy, projectUrl } from "../api";
import { PII_ACTIONS, PII_LABELS } from "./security";
import { PageLoader, QueryError } from "../session";

const INHERIT = "inherit";

/** The project's override of the shared policy: each setting inherits, or tightens it (the server refuses loosening). */
export function PolicyOverride() {
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
