/** Danger Zone (owner): transfer ownership to a member, delete the organization by typing its slug. */
import { Button, Group, Paper, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import { api, formErrors, type Member, orgUrl } from "../api";
import { meKey, useCurrentOrg } from "../session";

export function DangerZonePage() {
  const org = useCurrentOrg()!;
  const qc = useQueryClient();
  const navigate = useNavigate();
  const members = useQuery({
    queryKey: ["org", org.slug, "members"],
    queryFn: () => api.get<{ members: Member[] }>(orgUrl(org.slug, "/members")),
  });
  const [newOwner, setNewOwner] = useState<string | null>(null);
  const [transferError, setTransferError] = useState<string | null>(null);
  const transfer = useMutation({
    mutationFn: (userId: string) => api.post(orgUrl(org.slug, "/transfer"), { userId }),
    onSuccess: async () => {
      notifications.show({ color: "green", message: "Ownership transferred. You are now an admin." });
      setNewOwner(null);
      await qc.invalidateQueries({ queryKey: meKey });
      await qc.invalidateQueries({ queryKey: ["org", org.slug] });
      navigate(`/${org.slug}/settings/team`);
    },
    onError: (err) => setTransferError(err.message),
  });
  const form = useForm({ initialValues: { confirm: "" } });
  const remove = useMutation({
    mutationFn: (confirm: string) => api.del(orgUrl(org.slug), { confirm }),
    onSuccess: async () => {
      notifications.show({ color: "green", message: `${org.name} was deleted.` });
      await qc.invalidateQueries({ queryKey: meKey });
      navigate("/", { replace: true });
    },
    onError: (err) =>
      form.setErrors(
        formErrors(err, ["confirm"]).fields.confirm ? formErrors(err, ["confirm"]).fields : { confirm: err.message },
      ),
  });
  const candidates = (members.data?.members ?? []).filter((m) => m.role !== "owner");

  return (
    <Stack maw={720}>
      <Title order={2}>Danger Zone</Title>
      <Paper withBorder p="lg">
        <Stack>
          <Title order={3}>Transfer ownership</Title>
          <Text size="sm" c="dimmed">
            The new owner gets every right over {org.name}; you become an admin. There is always exactly one owner.
          </Text>
          {candidates.length === 0 ? (
            <Text size="sm">Invite someone first: ownership can only go to an existing member.</Text>
          ) : (
            <Group align="flex-end">
              <Select
                label="New owner"
                placeholder="Choose a member"
                data={candidates.map((m) => ({ value: m.userId, label: `${m.name} (${m.email})` }))}
                value={newOwner}
                onChange={(v) => {
                  setNewOwner(v);
                  setTransferError(null);
                }}
                error={transferError}
                w={360}
              />
              <Button
                color="orange"
                disabled={!newOwner}
                loading={transfer.isPending}
                onClick={() => newOwner && transfer.mutate(newOwner)}
              >
                Transfer ownership
              </Button>
            </Group>
          )}
        </Stack>
      </Paper>
      <Paper withBorder p="lg" style={{ borderColor: "var(--mantine-color-red-4)" }}>
        <form onSubmit={form.onSubmit((v) => remove.mutate(v.confirm))}>
          <Stack>
            <Title order={3}>Delete organization</Title>
            <Text size="sm">
              This deletes {org.name} with all its projects, API keys (they stop working at once), request logs and
              providers. It cannot be undone.
            </Text>
            <TextInput
              label={`Type the slug “${org.slug}” to confirm`}
              autoComplete="off"
              {...form.getInputProps("confirm")}
            />
            <Group justify="flex-end">
              <Button type="submit" color="red" disabled={form.values.confirm !== org.slug} loading={remove.isPending}>
                Delete organization
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>
    </Stack>
  );
}
