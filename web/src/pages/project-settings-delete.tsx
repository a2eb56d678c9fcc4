/** Project settings: deleting the project, confirmed by typing its slug. */
import { Button, Group, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useParams } from "react-router";
import { api, type Project, projectUrl } from "../api";

export function DeleteProject({ project }: { project: Project }) {
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
