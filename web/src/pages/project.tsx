/** One project: its header and tabs (Overview, API Keys, Logs, Playground, Settings). */
import { Anchor, Badge, Breadcrumbs, Group, Stack, Tabs, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { api, type Project, projectUrl } from "../api";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";

export function useProject() {
  const { org = "", project = "" } = useParams();
  return useQuery({
    queryKey: ["org", org, "project", project],
    queryFn: () => api.get<Project>(projectUrl(org, project)),
  });
}

export function ProjectLayout() {
  const org = useCurrentOrg()!;
  const { project: slug = "" } = useParams();
  const project = useProject();
  const location = useLocation();
  const navigate = useNavigate();
  const canSettings = useCan(["project", "update"]);
  const base = `/${org.slug}/projects/${slug}`;
  const rest = location.pathname.slice(base.length).split("/")[1] ?? "";
  const tab = ["keys", "logs", "playground", "settings"].includes(rest) ? rest : "overview";

  if (project.isPending) return <PageLoader />;
  if (project.error) return <QueryError error={project.error} retry={() => project.refetch()} />;
  return (
    <Stack>
      <Breadcrumbs
        data-testid="breadcrumb"
        separator={
          <Text size="sm" c="dimmed" aria-hidden>
            /
          </Text>
        }
      >
        <Anchor component={Link} to={`/${org.slug}`} size="sm">
          Projects
        </Anchor>
        <Text size="sm" aria-current="page" truncate maw={360}>
          {project.data.name}
        </Text>
      </Breadcrumbs>
      <Group justify="space-between">
        <Title order={2}>{project.data.name}</Title>
        <Badge variant="light">{project.data.environment}</Badge>
      </Group>
      <Tabs value={tab} onChange={(v) => navigate(v === "overview" ? base : `${base}/${v}`)}>
        <Tabs.List>
          <Tabs.Tab value="overview">Overview</Tabs.Tab>
          <Tabs.Tab value="keys">API Keys</Tabs.Tab>
          <Tabs.Tab value="logs">Logs</Tabs.Tab>
          <Tabs.Tab value="playground">Playground</Tabs.Tab>
          {canSettings && <Tabs.Tab value="settings">Settings</Tabs.Tab>}
        </Tabs.List>
      </Tabs>
      <Outlet />
    </Stack>
  );
}
