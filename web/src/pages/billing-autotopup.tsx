/**
 * Auto top-up: when the balance falls below a threshold, the default card is
 * charged a fixed amount — once per crossing; a failed charge turns it off
 * until credits are added. The owner edits; admins see it read-only. Hidden
 * without Stripe.
 */
import { Button, Group, Paper, Stack, Switch, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, formErrors, orgUrl } from "../api";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";

interface AutoTopup {
  enabled: boolean;
  thresholdMicroUsd: string | null;
  thresholdUsd: string | null;
  amountMicroUsd: string | null;
  amountUsd: string | null;
  stripeConfigured: boolean;
  minUsd: string;
  maxUsd: string;
}

const toInput = (v: string | null) => (v === null ? "" : v.replace(/\.?0+$/, ""));

export function AutoTopupSettings() {
  const org = useCurrentOrg()!;
  const canManage = useCan(["billing", "manage"]);
  const qc = useQueryClient();
  const key = ["org", org.slug, "auto-topup"];
  const settings = useQuery({
    queryKey: key,
    queryFn: () => api.get<AutoTopup>(orgUrl(org.slug, "/billing/auto-topup")),
  });
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({ initialValues: { enabled: false, thresholdUsd: "", amountUsd: "" } });
  useEffect(() => {
    if (!settings.data) return;
    form.setValues({
      enabled: settings.data.enabled,
      thresholdUsd: toInput(settings.data.thresholdUsd),
      amountUsd: toInput(settings.data.amountUsd),
    });
    form.resetDirty();
  }, [settings.data, form.setValues, form.resetDirty]);
  const save = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.put<AutoTopup>(orgUrl(org.slug, "/billing/auto-topup"), {
        enabled: v.enabled,
        ...(v.thresholdUsd.trim() ? { thresholdUsd: v.thresholdUsd.trim() } : {}),
        ...(v.amountUsd.trim() ? { amountUsd: v.amountUsd.trim() } : {}),
      }),
    onSuccess: (saved) => {
      setGeneral(null);
      qc.setQueryData(key, saved);
      notifications.show({ color: "green", message: saved.enabled ? "Auto top-up is on." : "Auto top-up is off." });
    },
    onError: (err) => {
      const e = formErrors(err, ["thresholdUsd", "amountUsd"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });

  if (settings.data && !settings.data.stripeConfigured) return null;
  return (
    <Paper withBorder p="md" data-testid="auto-topup">
      <Stack>
        <Title order={3}>Auto top-up</Title>
        <Text size="sm" c="dimmed">
          When the balance falls below the threshold, the default card is charged the amount — once each time the
          balance crosses it. If a charge fails, auto top-up pauses until credits are added.
        </Text>
        {settings.isPending ? (
          <PageLoader />
        ) : settings.error ? (
          <QueryError error={settings.error} retry={() => settings.refetch()} />
        ) : (
          <form onSubmit={form.onSubmit((v) => save.mutate(v))}>
            <Stack>
              <Switch
                label="Top up automatically"
                disabled={!canManage}
                {...form.getInputProps("enabled", { type: "checkbox" })}
              />
              <Group grow align="flex-start">
                <TextInput
                  label="When the balance is below (USD)"
                  placeholder="e.g. 10"
                  disabled={!canManage}
                  {...form.getInputProps("thresholdUsd")}
                />
                <TextInput
                  label="Add (USD)"
                  description={`Between $${toInput(settings.data.minUsd)} and $${toInput(settings.data.maxUsd)}.`}
                  placeholder="e.g. 50"
                  disabled={!canManage}
                  {...form.getInputProps("amountUsd")}
                />
              </Group>
              {general && (
                <Text c="red" size="sm" role="alert">
                  {general}
                </Text>
              )}
              {canManage ? (
                <Group justify="flex-end">
                  <Button type="submit" loading={save.isPending} disabled={!form.isDirty()}>
                    Save auto top-up
                  </Button>
                </Group>
              ) : (
                <Text size="xs" c="dimmed">
                  Only the owner can change auto top-up.
                </Text>
              )}
            </Stack>
          </form>
        )}
      </Stack>
    </Paper>
  );
}
