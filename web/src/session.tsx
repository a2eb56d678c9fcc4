/**
 * Who is signed in and in which organization. `/api/v1/me` is the source of
 * truth; the organization in the URL picks the current one, and the role the
 * server reports for it drives what the dashboard shows. The server checks
 * every call again: hiding a control is a courtesy, not the protection.
 */
import { Alert, Button, Center, Loader, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { type Capability, can, rolesFor } from "../../src/platform/permissions";
import { api, ApiError, type Me, type Org } from "./api";

export const meKey = ["me"] as const;

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: () => api.get<Me>("/api/v1/me"), staleTime: 30_000 });
}

/** The organization named in the URL, with the caller's role in it (undefined while loading or when not a member). */
export function useCurrentOrg(): Org | undefined {
  const { org } = useParams();
  const me = useMe();
  return me.data?.organizations.find((o) => o.slug === org);
}

/** Whether the caller's role in the current organization allows a capability (the server's own table). */
export function useCan(cap: Capability): boolean {
  const org = useCurrentOrg();
  return org ? can(org.role, cap[0], cap[1] as never) : false;
}

export function NoAccess({ what, cap }: { what: string; cap?: Capability }) {
  const org = useCurrentOrg();
  const roles = cap ? rolesFor(cap[0], cap[1] as never) : [];
  return (
    <Center py="xl" data-testid="no-access">
      <Stack align="center" gap="xs" maw={480}>
        <Title order={2}>No access</Title>
        <Text ta="center">
          {what} is available to {roles.length ? roles.map((r) => `${r}s`).join(" and ") : "other roles"} of this
          organization.
          {org ? ` Your role here is ${org.role}.` : ""}
        </Text>
        <Text c="dimmed" ta="center" size="sm">
          Ask an owner of {org?.name ?? "the organization"} if you need it.
        </Text>
        {org && (
          <Button component={Link} to={`/${org.slug}`} variant="light">
            Back to projects
          </Button>
        )}
      </Stack>
    </Center>
  );
}

export function RequireCan({ cap, what, children }: { cap: Capability; what: string; children: ReactNode }) {
  const allowed = useCan(cap);
  const org = useCurrentOrg();
  if (!org) return <PageLoader />;
  return allowed ? children : <NoAccess what={what} cap={cap} />;
}

export function PageLoader() {
  return (
    <Center py="xl">
      <Loader aria-label="Loading" />
    </Center>
  );
}

/** A query's error as a readable block (with the request id to quote to an operator). */
export function QueryError({ error, retry }: { error: unknown; retry?: () => void }) {
  const e = error instanceof ApiError ? error : null;
  return (
    <Alert color="red" title={e?.status === 404 ? "Not found" : "Could not load this"} role="alert">
      <Stack gap={4}>
        <Text size="sm">{error instanceof Error ? error.message : String(error)}</Text>
        {e?.requestId && (
          <Text size="xs" c="dimmed">
            Request id: {e.requestId}
          </Text>
        )}
        {retry && e?.status !== 404 && (
          <Button size="xs" variant="light" onClick={retry} w="fit-content">
            Try again
          </Button>
        )}
      </Stack>
    </Alert>
  );
}
