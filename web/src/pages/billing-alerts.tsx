/**
 * Billing alerts on the billing page: low-balance threshold, monthly budget
 * (alerts at 50/80/100 %), the signed webhook (its secret shown once, with a
 * copy button), a test button (owner), and "email me" for admins. Admins see
 * the settings read-only; the owner always receives the emails. Without
 * prepaid credits (TOLLGATE_BILLING=off) there is no balance, so no
 * low-balance alert: only the budget and the webhook.
 */
import { Alert, Button, Code, CopyButton, Group, Paper, Stack, Switch, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, type BillingSummary, formErrors, orgUrl } from "../api";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";

interface AlertSettings {
  lowBalanceMicroUsd: string | null;
  lowBalanceUsd: string | null;
  monthlyBudgetMicroUsd: string | null;
  monthlyBudgetUsd: string | null;
  webhookUrl: string | null;
  webhookSecretHint: string | null;
  emailMe: boolean;
  updatedAt: string | null;
}

interface TestResult {
  emails: string[];
  webhook: { delivered: boolean; status: number | null; attempts: number; error: string | null } | null;
}

/** "5.000000" → "5" for the input; null → "". */
const toInput = (v: string | null) => (v === null ? "" : v.replace(/\.?0+$/, ""));
const fromInput = (v: string) => (v.trim() === "" ? null : v.trim());

export function BillingAlerts() {
  const org = useCurrentOrg()!;
  const canManage = useCan(["billing", "manage"]);
  const qc = useQueryClient();
  const key = ["org", org.slug, "billing-alerts"];
  const settings = useQuery({
    queryKey: key,
    queryFn: () => api.get<AlertSettings>(orgUrl(org.slug, "/billing/alerts")),
  });
  // The billing page's own summary query (same key): shared, not fetched twice.
  const summary = useQuery({
    queryKey: ["org", org.slug, "billing"],
    queryFn: () => api.get<BillingSummary>(orgUrl(org.slug, "/billing")),
  });
  const credits = summary.data?.creditsEnabled !== false;
  const [secret, setSecret] = useState<string | null>(null);
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({ initialValues: { lowBalanceUsd: "", monthlyBudgetUsd: "", webhookUrl: "" } });
  // biome-ignore lint/correctness/useExhaustiveDependencies: refills the form only when the server's copy changes (updatedAt); a refetched object of the same version must not wipe edits in progress
  useEffect(() => {
    if (!settings.data) return;
    form.setValues({
      lowBalanceUsd: toInput(settings.data.lowBalanceUsd),
      monthlyBudgetUsd: toInput(settings.data.monthlyBudgetUsd),
      webhookUrl: settings.data.webhookUrl ?? "",
    });
    form.resetDirty();
  }, [settings.data?.updatedAt, form.setValues, form.resetDirty]);

  const save = useMutation({
    mutationFn: (v: typeof form.values & { rotateWebhookSecret?: boolean }) =>
      api.put<AlertSettings & { webhookSecret: string | null }>(orgUrl(org.slug, "/billing/alerts"), {
        lowBalanceUsd: credits ? fromInput(v.lowBalanceUsd) : null,
        monthlyBudgetUsd: fromInput(v.monthlyBudgetUsd),
        webhookUrl: fromInput(v.webhookUrl),
        ...(v.rotateWebhookSecret ? { rotateWebhookSecret: true } : {}),
      }),
    onSuccess: (saved) => {
      setGeneral(null);
      setSecret(saved.webhookSecret);
      qc.setQueryData(key, saved);
      notifications.show({ color: "green", message: "Billing alerts saved." });
    },
    onError: (err) => {
      const e = formErrors(err, ["lowBalanceUsd", "monthlyBudgetUsd", "webhookUrl"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  const test = useMutation({
    mutationFn: () => api.post<TestResult>(orgUrl(org.slug, "/billing/alerts/test")),
    onSuccess: (r) => {
      const mail = r.emails.length ? `Email sent to ${r.emails.join(", ")}.` : "No email could be sent.";
      const hook =
        r.webhook === null
          ? ""
          : r.webhook.delivered
            ? ` Webhook answered ${r.webhook.status}.`
            : ` Webhook failed: ${r.webhook.error}.`;
      notifications.show({ color: r.webhook && !r.webhook.delivered ? "orange" : "green", message: mail + hook });
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  const emailMe = useMutation({
    mutationFn: (on: boolean) =>
      on
        ? api.put<{ emailMe: boolean }>(orgUrl(org.slug, "/billing/alerts/subscription"), {})
        : api.del<{ emailMe: boolean }>(orgUrl(org.slug, "/billing/alerts/subscription")),
    onSuccess: (r) => qc.setQueryData<AlertSettings>(key, (old) => (old ? { ...old, emailMe: r.emailMe } : old)),
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });

  return (
    <Paper withBorder p="md" data-testid="billing-alerts">
      <Stack>
        <Title order={3}>Alerts</Title>
        <Text size="sm" c="dimmed">
          {credits
            ? "Emails go to the owner and to admins who turn on “Email me”. Each alert fires once: the low-balance alert again after credits are added, the budget alerts (50 %, 80 %, 100 % of the month's spend) again next month."
            : "Emails go to the owner and to admins who turn on “Email me”. Each budget alert (50 %, 80 %, 100 % of the month's spend) fires once a month."}
        </Text>
        {settings.isPending || summary.isPending ? (
          <PageLoader />
        ) : settings.error ? (
          <QueryError error={settings.error} retry={() => settings.refetch()} />
        ) : (
          <>
            {org.role !== "owner" && (
              <Switch
                label="Email me billing alerts"
                checked={settings.data.emailMe}
                disabled={emailMe.isPending}
                onChange={(e) => emailMe.mutate(e.currentTarget.checked)}
              />
            )}
            <form onSubmit={form.onSubmit((v) => save.mutate(v))}>
              <Stack>
                <Group grow align="flex-start">
                  {credits && (
                    <TextInput
                      label="Low balance (USD)"
                      description="Alert when the balance falls below this. Empty: off."
                      placeholder="e.g. 10"
                      disabled={!canManage}
                      {...form.getInputProps("lowBalanceUsd")}
                    />
                  )}
                  <TextInput
                    label="Monthly budget (USD)"
                    description="Alerts at 50, 80 and 100 % of this month's spend. Empty: off."
                    placeholder="e.g. 500"
                    disabled={!canManage}
                    {...form.getInputProps("monthlyBudgetUsd")}
                  />
                </Group>
                <TextInput
                  label="Webhook URL"
                  description={
                    settings.data.webhookSecretHint
                      ? `Alerts are POSTed here, signed with the secret ${settings.data.webhookSecretHint} (tollgate-signature header). Empty: no webhook.`
                      : "Optional: alerts are also POSTed here as JSON, signed (tollgate-signature header)."
                  }
                  placeholder="https://example.com/hooks/tollgate"
                  disabled={!canManage}
                  {...form.getInputProps("webhookUrl")}
                />
                {general && (
                  <Text c="red" size="sm" role="alert">
                    {general}
                  </Text>
                )}
                {canManage && (
                  <Group justify="space-between">
                    <Group gap="xs">
                      <Button variant="default" size="xs" loading={test.isPending} onClick={() => test.mutate()}>
                        Send test alert
                      </Button>
                      {settings.data.webhookUrl && (
                        <Button
                          variant="subtle"
                          size="xs"
                          loading={save.isPending}
                          onClick={() => save.mutate({ ...form.values, rotateWebhookSecret: true })}
                        >
                          New signing secret
                        </Button>
                      )}
                    </Group>
                    <Button type="submit" loading={save.isPending} disabled={!form.isDirty()}>
                      Save alerts
                    </Button>
                  </Group>
                )}
              </Stack>
            </form>
            {secret && (
              <Alert color="green" title="Webhook signing secret — copy it now" data-testid="alert-webhook-secret">
                <Stack gap="sm">
                  <Text size="sm">
                    This is the only time the secret is shown. Verify each webhook with it (see the billing docs).
                  </Text>
                  <Group wrap="nowrap" align="center">
                    <Code block style={{ flex: 1, wordBreak: "break-all" }}>
                      {secret}
                    </Code>
                    <CopyButton value={secret}>
                      {({ copied, copy }) => (
                        <Button size="xs" color={copied ? "teal" : "indigo"} onClick={copy}>
                          {copied ? "Copied" : "Copy"}
                        </Button>
                      )}
                    </CopyButton>
                  </Group>
                  <Button size="xs" variant="light" w="fit-content" onClick={() => setSecret(null)}>
                    I have stored the secret
                  </Button>
                </Stack>
              </Alert>
            )}
          </>
        )}
      </Stack>
    </Paper>
  );
}
