/**
 * Saved cards of the organization (Stripe): the default one is charged by
 * auto top-up. The owner adds (Stripe Checkout in setup mode), sets the
 * default and removes cards; admins see the list. Hidden without Stripe.
 */
import { Badge, Button, Group, Modal, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, orgUrl } from "../api";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";

export interface PaymentMethod {
  id: string;
  type: string;
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
  isDefault: boolean;
}

const label = (pm: PaymentMethod) =>
  `${pm.brand ? pm.brand[0]!.toUpperCase() + pm.brand.slice(1) : pm.type} •••• ${pm.last4 ?? "????"}`;

export function PaymentMethods() {
  const org = useCurrentOrg()!;
  const canManage = useCan(["billing", "manage"]);
  const qc = useQueryClient();
  const key = ["org", org.slug, "payment-methods"];
  const list = useQuery({
    queryKey: key,
    queryFn: () =>
      api.get<{ stripeConfigured: boolean; paymentMethods: PaymentMethod[] }>(
        orgUrl(org.slug, "/billing/payment-methods"),
      ),
  });
  const [removing, setRemoving] = useState<PaymentMethod | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: key });
  const add = useMutation({
    mutationFn: () => api.post<{ id: string; url: string }>(orgUrl(org.slug, "/billing/payment-methods/setup")),
    onSuccess: (r) => window.location.assign(r.url),
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  const makeDefault = useMutation({
    mutationFn: (id: string) =>
      api.post(orgUrl(org.slug, `/billing/payment-methods/${encodeURIComponent(id)}/default`)),
    onSuccess: () => {
      notifications.show({ color: "green", message: "Default payment method changed." });
      void refresh();
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.del(orgUrl(org.slug, `/billing/payment-methods/${encodeURIComponent(id)}`)),
    onSuccess: () => {
      setRemoving(null);
      notifications.show({ color: "green", message: "Payment method removed." });
      void refresh();
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });

  if (list.data && !list.data.stripeConfigured) return null;
  return (
    <Paper withBorder p="md" data-testid="payment-methods">
      <Stack>
        <Group justify="space-between">
          <Title order={3}>Payment methods</Title>
          {canManage && (
            <Button size="xs" variant="default" loading={add.isPending} onClick={() => add.mutate()}>
              Add card
            </Button>
          )}
        </Group>
        {list.isPending ? (
          <PageLoader />
        ) : list.error ? (
          <QueryError error={list.error} retry={() => list.refetch()} />
        ) : list.data.paymentMethods.length === 0 ? (
          <Text c="dimmed" size="sm">
            No saved cards. {canManage ? "Add one to use auto top-up." : "The owner can add one."}
          </Text>
        ) : (
          <Table aria-label="Payment methods">
            <Table.Tbody>
              {list.data.paymentMethods.map((pm) => (
                <Table.Tr key={pm.id}>
                  <Table.Td>
                    <Group gap="xs">
                      <Text size="sm">{label(pm)}</Text>
                      {pm.isDefault && (
                        <Badge size="sm" variant="light">
                          Default
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" c="dimmed">
                      {pm.expMonth && pm.expYear ? `Expires ${String(pm.expMonth).padStart(2, "0")}/${pm.expYear}` : ""}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    {canManage && (
                      <Group gap="xs" justify="flex-end">
                        {!pm.isDefault && (
                          <Button
                            size="xs"
                            variant="subtle"
                            loading={makeDefault.isPending && makeDefault.variables === pm.id}
                            onClick={() => makeDefault.mutate(pm.id)}
                          >
                            Make default
                          </Button>
                        )}
                        <Button size="xs" variant="subtle" color="red" onClick={() => setRemoving(pm)}>
                          Remove
                        </Button>
                      </Group>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Stack>
      <Modal opened={!!removing} onClose={() => setRemoving(null)} title="Remove payment method">
        <Stack>
          <Text size="sm">
            Remove {removing ? label(removing) : ""}?
            {removing?.isDefault
              ? " It is the default card: auto top-up cannot charge until another card is the default."
              : ""}
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRemoving(null)}>
              Cancel
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => removing && remove.mutate(removing.id)}>
              Remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Paper>
  );
}
