/**
 * Project settings (owners, admins): models, limits, spend cap, log bodies, response cache, member assignment,
 * security policy override, deletion. Each section lives in its own project-settings-*.tsx file.
 */
import { Stack } from "@mantine/core";
import { PageLoader, QueryError } from "../session";
import { useProject } from "./project";
import { DeleteProject } from "./project-settings-delete";
import { SettingsForm } from "./project-settings-form";
import { MemberAssignment } from "./project-settings-members";
import { PolicyOverride } from "./project-settings-policy";

export function ProjectSettingsPage() {
  const project = useProject();
  if (project.isPending) return <PageLoader />;
  if (project.error) return <QueryError error={project.error} />;
  return (
    <Stack maw={760}>
      <SettingsForm project={project.data} />
      <MemberAssignment />
      <PolicyOverride />
      <DeleteProject project={project.data} />
    </Stack>
  );
}
