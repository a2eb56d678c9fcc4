import { Button, Group, Paper, Stack, Text, Textarea, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { api, formErrors, type Org, orgUrl } from "../api";
import { meKey, useCan, useCurrentOrg } from "../session";
import { TwoFactorRequirement } from "./two-factor-requirement";

export function GeneralPage() {
  const org = useCurrentOrg()!;
  const canEdit = useCan(["org", "update"]);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({ initialValues: { name: org.name, description: org.description, slug: org.slug } });
  // biome-ignore lint/correctness/useExhaustiveDependencies: refills the form when another organization is shown or the server's copy changes (updatedAt); a refetched org object of the same version must not wipe edits in progress
  useEffect(() => {
    form.setValues({ name: org.name, description: org.description, slug: org.slug });
    form.resetDirty();
  }, [org.id, org.updatedAt, form.setValues, form.resetDirty]);
  const save = useMutation({
    mutationFn: (v: typeof form.values) => {
      const body: Record<string, string> = {};
      if (v.name !== org.name) body.name = v.name;
      if (v.description !== org.description) body.description = v.description;
      if (v.slug !== org.slug) body.slug = v.slug;
      return api.patch<Org>(orgUrl(org.slug), body);
    },
    onSuccess: async (updated) => {
      setGeneral(null);
      await qc.invalidateQueries({ queryKey: meKey });
      notifications.show({ message: "Organization saved.", color: "green" });
      if (updated.slug !== org.slug) navigate(`/${updated.slug}/settings/general`, { replace: true });
    },
    onError: (err) => {
      const e = formErrors(err, ["name", "description", "slug"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <Stack maw={640}>
      <Title order={2}>General</Title>
      <Paper withBorder p="lg">
        <form onSubmit={form.onSubmit((v) => save.mutate(v))}>
          <Stack>
            <TextInput label="Name" required disabled={!canEdit} {...form.getInputProps("name")} />
            <Textarea
              label="Description"
              autosize
              minRows={2}
              disabled={!canEdit}
              {...form.getInputProps("description")}
            />
            <TextInput
              label="Slug"
              description={`The organization's address: ${window.location.origin}/${form.values.slug}. Changing it breaks old links.`}
              disabled={!canEdit}
              {...form.getInputProps("slug")}
            />
            {general && (
              <Text c="red" size="sm" role="alert">
                {general}
              </Text>
            )}
            {canEdit ? (
              <Group justify="flex-end">
                <Button type="submit" loading={save.isPending} disabled={!form.isDirty()}>
                  Save
                </Button>
              </Group>
            ) : (
              <Text size="sm" c="dimmed">
                Only owners and admins can change these settings.
              </Text>
            )}
          </Stack>
        </form>
      </Paper>
      <TwoFactorRequirement />
    </Stack>
  );
}
