import { Button, Center, Stack, Text, Title } from "@mantine/core";
import { Link, Navigate } from "react-router";
import { ApiError } from "../api";
import { PageLoader, QueryError, useMe } from "../session";

/** `/`: the last active organization, or the sign-in page. */
export function HomeRedirect() {
  const me = useMe();
  if (me.isPending) return <PageLoader />;
  if (me.error instanceof ApiError && me.error.status === 401) return <Navigate to="/sign-in" replace />;
  if (me.error) return <QueryError error={me.error} retry={() => me.refetch()} />;
  const slug = me.data.activeOrganization ?? me.data.organizations[0]?.slug;
  if (!slug) {
    return (
      <Center py="xl">
        <Text>You do not belong to any organization. Create one from the profile menu after signing in again.</Text>
      </Center>
    );
  }
  return <Navigate to={`/${slug}`} replace />;
}

export function NotFoundPage() {
  return (
    <Center py="xl">
      <Stack align="center">
        <Title order={2}>Page not found</Title>
        <Text c="dimmed">There is nothing at this address.</Text>
        <Button component={Link} to="/">
          Go home
        </Button>
      </Stack>
    </Center>
  );
}
