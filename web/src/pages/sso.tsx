/**
 * Settings → Single sign-on (owners and admins; only the owner changes it). The organization's email domains
 * with their DNS verification, its OpenID Connect and SAML connections, the role people get when they first
 * sign in through the identity provider, and whether members must sign in that way. Save replaces the whole
 * configuration; "Remove SSO" deletes it after a confirmation.
 *
 * Invariants: the form fills from the server's view when the page opens and after each save or removal (a
 * domain verification updates the domain list only, so edits in progress survive it); a refused save shows the
 * server's message in role="alert" (field errors next to their fields) and changes nothing.
 */
import { Button, Group, Modal, Paper, Select, Stack, Switch, TagsInput, Text, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, orgUrl } from "../api";
import { meKey, PageLoader, QueryError, useCan, useCurrentOrg } from "../session";
import { OidcSection, SamlSection } from "./sso-connections";
import { SsoDomainList } from "./sso-domains";
import {
  bodyFromForm,
  formFromSettings,
  isConfigured,
  type SsoFormValues,
  type SsoSettings,
  ssoSaveErrors,
  validateSsoForm,
} from "./sso-form";

export function SsoPage() {
  const org = useCurrentOrg()!;
  const queryKey = ["org", org.slug, "sso"];
  const sso = useQuery({ queryKey, queryFn: () => api.get<SsoSettings>(orgUrl(org.slug, "/sso")) });
  return (
    <Stack maw={760}>
      <Title order={2}>Single sign-on</Title>
      <Text size="sm" c="dimmed">
        People with an address at the organization's verified domains sign in through your identity provider and join{" "}
        {org.name} on their first sign-in.
      </Text>
      {sso.isPending ? (
        <PageLoader />
      ) : sso.error ? (
        <QueryError error={sso.error} retry={() => sso.refetch()} />
      ) : (
        // Keyed: another organization's settings start a fresh form.
        <SsoForm key={org.slug} org={org.slug} saved={sso.data} />
      )}
    </Stack>
  );
}

function SsoForm({ org, saved }: { org: string; saved: SsoSettings }) {
  const qc = useQueryClient();
  const canManage = useCan(["sso", "manage"]);
  const readOnly = !canManage;
  const [general, setGeneral] = useState<string | null>(null);
  const [removeOpen, removeModal] = useDisclosure(false);
  // Filled once (and again after a save or removal): a verified domain must not wipe edits in progress.
  const form = useForm<SsoFormValues>({
    initialValues: formFromSettings(saved),
    // A message about the last save attempt is stale once the form changes.
    onValuesChange: () => setGeneral(null),
  });

  function refill(view: SsoSettings) {
    const values = formFromSettings(view);
    form.setInitialValues(values);
    form.setValues(values);
    form.clearErrors();
    setGeneral(null);
  }
  const applied = async (view: SsoSettings | undefined, message: string) => {
    const next = view ?? (await api.get<SsoSettings>(orgUrl(org, "/sso")));
    qc.setQueryData(["org", org, "sso"], next);
    refill(next);
    notifications.show({ color: "green", message });
    // requireSso is on the organization as /api/v1/me reports it.
    await qc.invalidateQueries({ queryKey: meKey });
  };
  const save = useMutation({
    mutationFn: (v: SsoFormValues) => api.put<SsoSettings>(orgUrl(org, "/sso"), bodyFromForm(v)),
    onSuccess: (view) => applied(view, "Single sign-on saved."),
    onError: (err) => {
      const e = ssoSaveErrors(err);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  const removal = useMutation({
    mutationFn: () => api.del(orgUrl(org, "/sso")),
    onSuccess: async () => {
      removeModal.close();
      await applied(undefined, "Single sign-on removed. Members sign in with their passwords.");
    },
  });
  const submit = form.onSubmit((v) => {
    const errors = validateSsoForm(v, saved);
    form.setErrors(errors);
    setGeneral(null);
    if (Object.keys(errors).length === 0) save.mutate(v);
  });

  return (
    <>
      <form onSubmit={submit} noValidate>
        <Stack>
          <Paper withBorder p="lg">
            <Stack>
              <Title order={4}>Domains</Title>
              <SsoDomainList org={org} domains={saved.domains} canManage={canManage} />
              <TagsInput
                label="Email domains"
                description="The domains of your people's email addresses, e.g. acme.com. Press Enter after each."
                placeholder={readOnly ? undefined : "acme.com"}
                splitChars={[",", " "]}
                clearable={!readOnly}
                disabled={readOnly}
                {...form.getInputProps("domains")}
              />
            </Stack>
          </Paper>
          <OidcSection form={form} saved={saved} readOnly={readOnly} />
          <SamlSection form={form} saved={saved} readOnly={readOnly} />
          <Paper withBorder p="lg">
            <Stack>
              <Title order={4}>Sign-in policy</Title>
              <Select
                label="Default role"
                description="The role people get when they first sign in through the identity provider."
                data={[
                  { value: "member", label: "Member" },
                  { value: "admin", label: "Admin" },
                ]}
                allowDeselect={false}
                disabled={readOnly}
                w={240}
                {...form.getInputProps("defaultRole")}
              />
              <Switch
                label="Require SSO"
                description="Members other than the owner must sign in with SSO to reach this organization. The owner keeps password access as the way back in if the identity provider fails."
                disabled={readOnly}
                data-testid="require-sso"
                {...form.getInputProps("requireSso", { type: "checkbox" })}
              />
            </Stack>
          </Paper>
          {general && (
            <Text c="red" size="sm" role="alert" data-testid="sso-error">
              {general}
            </Text>
          )}
          {canManage ? (
            <Group justify="space-between">
              {isConfigured(saved) ? (
                <Button variant="subtle" color="red" onClick={removeModal.open}>
                  Remove SSO
                </Button>
              ) : (
                <span />
              )}
              <Button type="submit" loading={save.isPending}>
                Save
              </Button>
            </Group>
          ) : (
            <Text size="sm" c="dimmed">
              Only the owner can change single sign-on.
            </Text>
          )}
        </Stack>
      </form>
      <Modal opened={removeOpen} onClose={removeModal.close} title="Remove single sign-on">
        <Stack>
          <Text>
            Remove the domains and identity provider connections? People who joined through SSO stay members; from now
            on they sign in with a password, which they can set with “Forgot password?” on the sign-in page.
          </Text>
          {removal.error && (
            <Text c="red" size="sm" role="alert">
              {removal.error.message}
            </Text>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={removeModal.close}>
              Cancel
            </Button>
            <Button color="red" loading={removal.isPending} onClick={() => removal.mutate()}>
              Remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
