/**
 * Team: members with roles (everyone sees the list), and for owners/admins the
 * pending invitations and the Invite Member dialog. Role changes and removal are
 * the owner's (the server's permission table says so; the controls follow it).
 */
import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Group,
  Menu,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import { api, formErrors, type Invitation, type Member, orgUrl } from "../api";
import { roleLabel, roleOptions } from "../labels";
import { meKey, PageLoader, QueryError, useCan, useCurrentOrg, useMe } from "../session";
import { FormFooter } from "../form-footer";

const when = (iso: string) => new Date(iso).toLocaleDateString();

export function TeamPage() {
  const org = useCurrentOrg()!;
  const me = useMe();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const canInvite = useCan(["invitation", "read"]);
  const canChangeRole = useCan(["member", "changeRole"]);
  const canRemove = useCan(["member", "remove"]);
  const [inviteOpen, invite] = useDisclosure(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const members = useQuery({
    queryKey: ["org", org.slug, "members"],
    queryFn: () => api.get<{ members: Member[] }>(orgUrl(org.slug, "/members")),
  });
  const invitations = useQuery({
    queryKey: ["org", org.slug, "invitations"],
    queryFn: () => api.get<{ invitations: Invitation[] }>(orgUrl(org.slug, "/invitations")),
    enabled: canInvite,
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ["org", org.slug] });
  const onError = (err: Error) => notifications.show({ color: "red", title: "Not done", message: err.message });

  const changeRole = useMutation({
    mutationFn: (v: { userId: string; role: string }) =>
      api.patch(orgUrl(org.slug, `/members/${encodeURIComponent(v.userId)}`), { role: v.role }),
    onSuccess: () => {
      notifications.show({ color: "green", message: "Role changed." });
      return refresh();
    },
    onError,
  });
  const remove = useMutation({
    mutationFn: (userId: string) => api.del(orgUrl(org.slug, `/members/${encodeURIComponent(userId)}`)),
    onSuccess: () => {
      setRemoving(null);
      notifications.show({ color: "green", message: "Member removed; their API keys were revoked." });
      return refresh();
    },
    onError,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.del(orgUrl(org.slug, `/invitations/${id}`)),
    onSuccess: refresh,
    onError,
  });
  const resend = useMutation({
    mutationFn: (id: string) => api.post(orgUrl(org.slug, `/invitations/${id}/resend`)),
    onSuccess: () => {
      notifications.show({ color: "green", message: "Invitation sent again with a new link." });
      return refresh();
    },
    onError,
  });
  const leave = useMutation({
    mutationFn: () => api.post(orgUrl(org.slug, "/leave")),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: meKey });
      navigate("/");
    },
    onError,
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Team</Title>
        {canInvite && <Button onClick={invite.open}>Invite Member</Button>}
      </Group>
      {members.isPending ? (
        <PageLoader />
      ) : members.error ? (
        <QueryError error={members.error} retry={() => members.refetch()} />
      ) : (
        <Table.ScrollContainer minWidth={560}>
          <Table striped aria-label="Members">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Email</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>2FA</Table.Th>
                <Table.Th>Last active</Table.Th>
                <Table.Th>Joined</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {members.data.members.map((m) => (
                <Table.Tr key={m.userId} data-testid={`member-${m.email}`}>
                  <Table.Td>{m.name}</Table.Td>
                  <Table.Td>{m.email}</Table.Td>
                  <Table.Td>
                    {canChangeRole && m.role !== "owner" ? (
                      <Select
                        aria-label={`Role of ${m.email}`}
                        size="xs"
                        w={120}
                        data={roleOptions()}
                        value={m.role}
                        allowDeselect={false}
                        onChange={(role) => role && role !== m.role && changeRole.mutate({ userId: m.userId, role })}
                      />
                    ) : (
                      <Badge
                        variant="light"
                        color={m.role === "owner" ? "indigo" : m.role === "admin" ? "teal" : "gray"}
                        tt="none"
                        data-testid="member-role"
                      >
                        {roleLabel(m.role)}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={m.twoFactorEnabled ? "teal" : "gray"} data-testid="member-2fa">
                      {m.twoFactorEnabled ? "On" : "Off"}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{m.lastActiveAt ? when(m.lastActiveAt) : "—"}</Table.Td>
                  <Table.Td>{when(m.joinedAt)}</Table.Td>
                  <Table.Td>
                    {canRemove && m.role !== "owner" && (
                      <Button size="xs" variant="subtle" color="red" onClick={() => setRemoving(m)}>
                        Remove
                      </Button>
                    )}
                    {m.userId === me.data?.user.id && m.role !== "owner" && (
                      <Button
                        size="xs"
                        variant="subtle"
                        color="red"
                        onClick={() => leave.mutate()}
                        loading={leave.isPending}
                      >
                        Leave
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}

      {canInvite && (
        <Stack gap="xs">
          <Title order={3}>Pending invitations</Title>
          {invitations.isPending ? (
            <PageLoader />
          ) : invitations.error ? (
            <QueryError error={invitations.error} />
          ) : invitations.data.invitations.length === 0 ? (
            <Text c="dimmed" size="sm">
              No pending invitations. Use Invite Member to add people by email; they get a link valid for 7 days.
            </Text>
          ) : (
            <Table.ScrollContainer minWidth={560}>
              <Table aria-label="Pending invitations">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Email</Table.Th>
                    <Table.Th>Role</Table.Th>
                    <Table.Th>Invited by</Table.Th>
                    <Table.Th>Expires</Table.Th>
                    <Table.Th />
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {invitations.data.invitations.map((i) => (
                    <Table.Tr key={i.id} data-testid={`invitation-${i.email}`}>
                      <Table.Td>{i.email}</Table.Td>
                      <Table.Td>{roleLabel(i.role)}</Table.Td>
                      <Table.Td>{i.invitedBy?.name ?? "—"}</Table.Td>
                      <Table.Td>{i.expired ? <Badge color="yellow">expired</Badge> : when(i.expiresAt)}</Table.Td>
                      <Table.Td>
                        <Menu position="bottom-end">
                          <Menu.Target>
                            <ActionIcon variant="subtle" aria-label={`Actions for invitation to ${i.email}`}>
                              ⋯
                            </ActionIcon>
                          </Menu.Target>
                          <Menu.Dropdown>
                            <Menu.Item onClick={() => resend.mutate(i.id)}>Resend</Menu.Item>
                            <Menu.Item color="red" onClick={() => revoke.mutate(i.id)}>
                              Revoke
                            </Menu.Item>
                          </Menu.Dropdown>
                        </Menu>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </Stack>
      )}
      <InviteDialog org={org.slug} role={org.role} opened={inviteOpen} onClose={invite.close} />
      <Modal opened={!!removing} onClose={() => setRemoving(null)} title="Remove member">
        <Stack>
          <Text>
            Remove {removing?.name} ({removing?.email}) from {org.name}? Their API keys stop working at once.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRemoving(null)}>
              Cancel
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => removing && remove.mutate(removing.userId)}>
              Remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function InviteDialog({
  org,
  role,
  opened,
  onClose,
}: {
  org: string;
  role: string;
  opened: boolean;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: { email: "", role: "member" },
    validate: { email: (v) => (/^\S+@\S+\.\S+$/.test(v) ? null : "Enter a valid email address.") },
  });
  const send = useMutation({
    mutationFn: (v: typeof form.values) => api.post<Invitation>(orgUrl(org, "/invitations"), v),
    onSuccess: async (inv) => {
      notifications.show({ color: "green", message: `Invitation sent to ${inv.email}.` });
      form.reset();
      setGeneral(null);
      onClose();
      await qc.invalidateQueries({ queryKey: ["org", org, "invitations"] });
    },
    onError: (err) => {
      const e = formErrors(err, ["email", "role"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title="Invite Member">
      <form onSubmit={form.onSubmit((v) => send.mutate(v))} noValidate>
        <Stack>
          <TextInput label="Email" type="email" required data-autofocus {...form.getInputProps("email")} />
          <Select
            label="Role"
            data={roleOptions(role === "owner" || role === "admin" ? ["member", "admin"] : ["member"])}
            allowDeselect={false}
            {...form.getInputProps("role")}
          />
          <Alert color="gray" variant="light">
            They get an email with a link valid for 7 days and must sign in with this address to accept.
          </Alert>
          <FormFooter error={general} onCancel={onClose} submitLabel="Send invitation" loading={send.isPending} />
        </Stack>
      </form>
    </Modal>
  );
}
