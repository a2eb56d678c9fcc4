/**
 * `/invite/<token>`: shows the organization, the inviter and the role. The
 * invitee signs in (or up) with the invited email and accepts or declines.
 * Signing up from here carries the token: the link proves the address.
 */
import { Logo } from "../brand";
import { Alert, Badge, Button, Center, Group, Paper, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError, type InvitationPreview } from "../api";
import { meKey, PageLoader, QueryError, useMe } from "../session";

export function InvitePage() {
  const { token = "" } = useParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const me = useMe();
  const [declined, setDeclined] = useState(false);
  const preview = useQuery({
    queryKey: ["invitation", token],
    queryFn: () => api.get<InvitationPreview>(`/api/v1/invitations/${encodeURIComponent(token)}`),
  });
  const accept = useMutation({
    mutationFn: () =>
      api.post<{ organization: { slug: string } }>(`/api/v1/invitations/${encodeURIComponent(token)}/accept`),
    onSuccess: async (res) => {
      await qc.invalidateQueries({ queryKey: meKey });
      navigate(`/${res.organization.slug}`);
    },
  });
  const decline = useMutation({
    mutationFn: () => api.post(`/api/v1/invitations/${encodeURIComponent(token)}/decline`),
    onSuccess: () => setDeclined(true),
  });
  const signOut = useMutation({
    mutationFn: () => api.post("/api/auth/sign-out"),
    onSettled: () => qc.resetQueries({ queryKey: meKey }),
  });

  if (preview.isPending || me.isPending) return <PageLoader />;
  const signedIn = me.data ?? null;
  const here = `/invite/${encodeURIComponent(token)}`;

  let body: React.ReactNode;
  if (preview.error) {
    body =
      preview.error instanceof ApiError && preview.error.status === 404 ? (
        <Alert color="red" title="Invitation not found">
          This link is not valid. Invitations can be revoked, and a resent invitation replaces the old link: ask for a
          new one.
        </Alert>
      ) : (
        <QueryError error={preview.error} retry={() => preview.refetch()} />
      );
  } else {
    const inv = preview.data;
    const usable = inv.status === "pending" && !inv.expired;
    const sameEmail = signedIn && signedIn.user.email.toLowerCase() === inv.email.toLowerCase();
    body = (
      <Stack>
        <Text>
          <b>{inv.invitedBy?.name ?? "Someone"}</b> invited <b>{inv.email}</b> to join{" "}
          <b data-testid="invite-org">{inv.organization.name}</b> as <Badge variant="light">{inv.role}</Badge>
        </Text>
        {declined ? (
          <Alert color="gray">You declined this invitation.</Alert>
        ) : !usable ? (
          <Alert color="yellow" title="This invitation can no longer be used">
            {inv.expired ? "It has expired." : `It was ${inv.status}.`} Ask {inv.invitedBy?.name ?? "the organization"}{" "}
            to send a new one.
          </Alert>
        ) : !signedIn ? (
          <Stack gap="xs">
            <Text size="sm">Sign in or create an account with {inv.email} to accept.</Text>
            <Group>
              <Button
                component={Link}
                to={`/sign-in?next=${encodeURIComponent(here)}&email=${encodeURIComponent(inv.email)}`}
              >
                Sign in
              </Button>
              <Button
                variant="light"
                component={Link}
                to={`/sign-up?next=${encodeURIComponent(here)}&email=${encodeURIComponent(inv.email)}&invitation=${encodeURIComponent(token)}`}
              >
                Sign up
              </Button>
            </Group>
          </Stack>
        ) : !sameEmail ? (
          <Alert color="yellow" title="Signed in with another email">
            <Stack gap="xs">
              <Text size="sm">
                You are signed in as {signedIn.user.email}; this invitation is for {inv.email}.
              </Text>
              <Button size="xs" w="fit-content" onClick={() => signOut.mutate()} loading={signOut.isPending}>
                Sign out and switch account
              </Button>
            </Stack>
          </Alert>
        ) : (
          <Group>
            <Button onClick={() => accept.mutate()} loading={accept.isPending}>
              Accept
            </Button>
            <Button variant="default" onClick={() => decline.mutate()} loading={decline.isPending}>
              Decline
            </Button>
          </Group>
        )}
        {(accept.error || decline.error) && (
          <Text c="red" size="sm" role="alert">
            {(accept.error ?? decline.error)!.message}
          </Text>
        )}
      </Stack>
    );
  }
  return (
    <Center mih="100vh" p="md" bg="var(--mantine-color-default-hover)">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={520}>
        <Stack>
          <Logo />
          <Title order={2}>Invitation</Title>
          {body}
        </Stack>
      </Paper>
    </Center>
  );
}
