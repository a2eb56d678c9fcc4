/** Projects of the organization: list, create, and the empty state that teaches the first step. */
import {
  Badge,
  Button,
  Card,
  Group,
  Modal,
  Select,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { useDisclosure } from "@mantine/hooks";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, formErrors, orgUrl, type Project } from "../api";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";
import { OnboardingCard } from "./onboarding";
import { FormFooter } from "../form-footer";

export function ProjectsPage() {
  const org = useCurrentOrg()!;
  const canCreate = useCan(["project", "create"]);
  const [open, modal] = useDisclosure(false);
  const projects = useQuery({
    queryKey: ["org", org.slug, "projects"],
    queryFn: () => api.get<{ projects: Project[] }>(orgUrl(org.slug, "/projects")),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Projects</Title>
        {canCreate && <Button onClick={modal.open}>New project</Button>}
      </Group>
      <OnboardingCard onCreateProject={modal.open} />
      {projects.isPending ? (
        <PageLoader />
      ) : projects.error ? (
        <QueryError error={projects.error} retry={() => projects.refetch()} />
      ) : projects.data.projects.length === 0 ? (
        <Card withBorder p="xl" data-testid="projects-empty">
          <Stack align="flex-start">
            <Title order={3}>No projects yet</Title>
            {canCreate ? (
              <>
                <Text>
                  A project is one of your AI applications, usually one per environment (Production API, Staging…). It
                  gets its own API keys, limits, spend cap and request logs.
                </Text>
                <Button onClick={modal.open}>Create your first project</Button>
              </>
            ) : (
              <Text>
                You are not assigned to any project of {org.name} yet. Ask an owner or admin to add you to one.
              </Text>
            )}
          </Stack>
        </Card>
      ) : (
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          {projects.data.projects.map((p) => (
            <Card
              key={p.id}
              withBorder
              component={Link}
              to={`/${org.slug}/projects/${p.slug}`}
              data-testid={`project-${p.slug}`}
            >
              <Group justify="space-between" mb="xs">
                <Text fw={600}>{p.name}</Text>
                <Badge variant="light">{p.environment}</Badge>
              </Group>
              <Text size="sm" c="dimmed" lineClamp={2}>
                {p.description || `Default model: ${p.defaultModel ?? "none (each request names its model)"}`}
              </Text>
            </Card>
          ))}
        </SimpleGrid>
      )}
      <CreateProjectModal org={org.slug} opened={open} onClose={modal.close} />
    </Stack>
  );
}

function CreateProjectModal({ org, opened, onClose }: { org: string; opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: { name: "", description: "", environment: "production", defaultModel: "" },
    validate: { name: (v) => (v.trim() ? null : "Name is required.") },
  });
  const create = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<Project>(orgUrl(org, "/projects"), {
        name: v.name.trim(),
        description: v.description.trim() || undefined,
        environment: v.environment,
        defaultModel: v.defaultModel.trim() || undefined,
      }),
    onSuccess: async (p) => {
      await qc.invalidateQueries({ queryKey: ["org", org, "projects"] });
      form.reset();
      onClose();
      navigate(`/${org}/projects/${p.slug}/keys`);
    },
    onError: (err) => {
      const e = formErrors(err, ["name", "description", "environment", "defaultModel"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title="New project">
      <form onSubmit={form.onSubmit((v) => create.mutate(v))} noValidate>
        <Stack>
          <TextInput
            label="Name"
            placeholder="Production API"
            required
            data-autofocus
            {...form.getInputProps("name")}
          />
          <Textarea label="Description" autosize minRows={2} {...form.getInputProps("description")} />
          <Select
            label="Environment"
            data={["production", "staging", "development"]}
            allowDeselect={false}
            {...form.getInputProps("environment")}
          />
          <TextInput
            label="Default model"
            placeholder="mock/echo or openai/gpt-4o-mini"
            description="Used when a request names no model. Optional."
            {...form.getInputProps("defaultModel")}
          />
          <FormFooter error={general} onCancel={onClose} submitLabel="Create project" loading={create.isPending} />
        </Stack>
      </form>
    </Modal>
  );
}
