/**
 * What a member sees instead of an organization's pages when it requires single sign-on and their session did
 * not come through its identity provider (`ssoSignInNeeded` in /api/v1/me; the server answers SSO_REQUIRED on
 * the organization's routes meanwhile). The button starts the SSO sign-in with their email, coming back to the
 * page they were on. Their other organizations stay reachable from the switcher.
 */
import { Alert, Button, Stack, Title } from "@mantine/core";
import { Link, useLocation } from "react-router";
import type { Org } from "./api";

export function SsoRequired({ org, email }: { org: Org; email: string }) {
  const location = useLocation();
  const query = new URLSearchParams({ email, next: location.pathname + location.search });
  return (
    <Stack align="center" py="xl" data-testid="sso-required">
      <Title order={2}>{org.name} requires single sign-on</Title>
      <Alert color="yellow" maw={520}>
        Sign in through {org.name}'s identity provider with your work email to continue. Your other organizations stay
        available from the organization switcher.
      </Alert>
      <Button component={Link} to={`/sign-in/sso?${query.toString()}`}>
        Sign in with SSO
      </Button>
    </Stack>
  );
}
