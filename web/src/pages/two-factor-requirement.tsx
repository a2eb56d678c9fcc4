/**
 * The organization's "Require two-factor authentication" setting, on the
 * General page. Only the owner changes it, and only once their own account has
 * two-factor authentication (the server refuses otherwise); everyone else sees
 * whether it is on.
 */
import { Paper, Stack, Switch, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type Org, orgUrl } from "../api";
import { meKey, useCan, useCurrentOrg, useMe } from "../session";

export function TwoFactorRequirement() {
  const org = useCurrentOrg();
  const me = useMe();
  const qc = useQueryClient();
  const isOwner = useCan(["org", "requireTwoFactor"]);
  const set = useMutation({
    mutationFn: (required: boolean) => api.put<Org>(orgUrl(org?.slug ?? "", "/two-factor-requirement"), { required }),
    onSuccess: () => qc.invalidateQueries({ queryKey: meKey }),
  });
  if (!org) return null;
  const ownHasIt = me.data?.user.twoFactorEnabled === true;
  const blocked = isOwner && !ownHasIt && !org.requireTwoFactor;
  let description =
    "Members without two-factor authentication are asked to turn it on before they reach this organization.";
  if (!isOwner) description = "Only the owner can change this.";
  else if (blocked) description = "Turn on two-factor authentication for your own account first (profile menu).";
  return (
    <Paper withBorder p="lg">
      <Stack gap="xs">
        <Switch
          label="Require two-factor authentication"
          description={description}
          checked={org.requireTwoFactor}
          disabled={!isOwner || blocked || set.isPending}
          onChange={(e) => set.mutate(e.currentTarget.checked)}
          data-testid="require-two-factor"
        />
        {set.error && (
          <Text c="red" size="sm" role="alert">
            {set.error.message}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
