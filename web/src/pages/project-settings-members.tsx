/** Project settings: which members (Member role) are assigned to the project. */
import { Alert, Button, Group, MultiSelect, Paper, Stack, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useParams } from "react-router";
import { api, type Member, orgUrl, type ProjectMember, projectUrl } from "../api";
import { PageLoader, QueryError } from "../session";

export function MemberAssignment() {
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
