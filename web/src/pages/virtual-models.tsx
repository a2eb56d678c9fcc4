/**
 * Routing: the organization's virtual models — names its apps send as
 * `model` that resolve to targets with a strategy (fallback in order, split
 * by weight, or the fastest by measured latency). Every member reads them,
 * with each target's weight and parameter overrides and the line to put in a
 * request; owners and admins create, edit and delete them (the dialog is
 * virtual-models-form.tsx).
 */
import { Badge, Button, Card, Code, CopyButton, Group, Modal, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../api";
import {
  describeParams,
  strategyOf,
  type VirtualModel,
  virtualModelsKey,
  virtualModelsUrl,
} from "../api-virtual-models";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";
import { VirtualModelModal } from "./virtual-models-form";

export function VirtualModelsPage() {
  const org = useCurrentOrg()!;
  const canManage = useCan(["virtualModel", "manage"]);
  const qc = useQueryClient();
  const [editing, setEditing] = useState<VirtualModel | "new" | null>(null);
  const [deleting, setDeleting] = useState<VirtualModel | null>(null);
  const list = useQuery({
    queryKey: virtualModelsKey(org.slug),
    queryFn: () => api.get<{ virtualModels: VirtualModel[] }>(virtualModelsUrl(org.slug)),
  });
  const remove = useMutation({
    mutationFn: (name: string) => api.del(virtualModelsUrl(org.slug, name)),
    onSuccess: async (_r, name) => {
      setDeleting(null);
      notifications.show({ color: "green", message: `${name} deleted.` });
      await qc.invalidateQueries({ queryKey: virtualModelsKey(org.slug) });
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Routing</Title>
        {canManage && !!list.data?.virtualModels.length && (
          <Button onClick={() => setEditing("new")}>Create virtual model</Button>
        )}
      </Group>
      <Text size="sm" c="dimmed">
        A virtual model is a name your apps send as <Code>model</Code> that Tollgate routes to one or more real models:
        in order as fallbacks, split by weight, or to the fastest.
        {canManage ? "" : " Owners and admins of the organization change them."}
      </Text>
      {list.isPending ? (
        <PageLoader />
      ) : list.error ? (
        <QueryError error={list.error} retry={() => list.refetch()} />
      ) : list.data.virtualModels.length === 0 ? (
        <Card withBorder p="xl" data-testid="virtual-models-empty">
          <Stack align="flex-start">
            <Title order={4}>No virtual models yet</Title>
            <Text size="sm">
              Give a model a name of your own — say <Code>smart</Code> — and decide what it means: try a model and fall
              back to another when it fails, send 90 % of the traffic to one and 10 % to a candidate, or always take the
              fastest. Apps send the name; you change the targets here without touching them.
            </Text>
            {canManage ? (
              <Button onClick={() => setEditing("new")}>Create virtual model</Button>
            ) : (
              <Text size="sm" c="dimmed">
                Owners and admins of the organization can create them.
              </Text>
            )}
          </Stack>
        </Card>
      ) : (
        list.data.virtualModels.map((vm) => (
          <VirtualModelCard
            key={vm.id}
            vm={vm}
            canManage={canManage}
            onEdit={() => setEditing(vm)}
            onDelete={() => setDeleting(vm)}
          />
        ))
      )}
      {editing && (
        <VirtualModelModal org={org.slug} vm={editing === "new" ? null : editing} onClose={() => setEditing(null)} />
      )}
      <Modal opened={!!deleting} onClose={() => setDeleting(null)} title="Delete virtual model">
        <Stack>
          <Text>Delete {deleting?.name}? Requests that send it as model fail from now on.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDeleting(null)}>
              Cancel
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => deleting && remove.mutate(deleting.name)}>
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function VirtualModelCard(props: { vm: VirtualModel; canManage: boolean; onEdit(): void; onDelete(): void }) {
  const { vm, canManage } = props;
  const strategy = strategyOf(vm.strategy);
  const weighted = vm.strategy === "weighted";
  const total = vm.targets.reduce((s, t) => s + t.weight, 0);
  const example = `model: "${vm.name}"`;
  return (
    <Card withBorder data-testid={`virtual-model-${vm.name}`}>
      <Group justify="space-between" mb="xs" align="flex-start">
        <Stack gap={4}>
          <Group gap="xs">
            <Title order={3} size="h4">
              {vm.name}
            </Title>
            <Badge variant="light" data-testid="virtual-model-strategy">
              {strategy.label}
            </Badge>
          </Group>
          <Text size="sm" c="dimmed">
            {strategy.explanation}
          </Text>
          {vm.description && <Text size="sm">{vm.description}</Text>}
        </Stack>
        {canManage && (
          <Group gap="xs">
            <Button size="xs" variant="default" onClick={props.onEdit} aria-label={`Edit ${vm.name}`}>
              Edit
            </Button>
            <Button size="xs" variant="subtle" color="red" onClick={props.onDelete} aria-label={`Delete ${vm.name}`}>
              Delete
            </Button>
          </Group>
        )}
      </Group>
      <Table.ScrollContainer minWidth={480}>
        <Table aria-label={`Targets of ${vm.name}`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>#</Table.Th>
              <Table.Th>Model</Table.Th>
              {weighted && <Table.Th>Weight</Table.Th>}
              <Table.Th>Parameter overrides</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {vm.targets.map((t, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a model may be listed twice (with other overrides); the position is the identity
              <Table.Tr key={i}>
                <Table.Td>{i + 1}</Table.Td>
                <Table.Td>
                  <Code>{t.model}</Code>
                </Table.Td>
                {weighted && (
                  <Table.Td>{`${t.weight} (${total ? Math.round((t.weight / total) * 100) : 0} %)`}</Table.Td>
                )}
                <Table.Td>{describeParams(t.params) || "—"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Group gap="xs" mt="xs" wrap="nowrap">
        <Text size="sm" c="dimmed">
          In a request:
        </Text>
        <Code data-testid="virtual-model-example">{example}</Code>
        <CopyButton value={example}>
          {({ copied, copy }) => (
            <Button
              size="xs"
              variant="light"
              color={copied ? "teal" : "indigo"}
              onClick={copy}
              aria-label={`Copy ${example}`}
            >
              {copied ? "Copied" : "Copy"}
            </Button>
          )}
        </CopyButton>
      </Group>
    </Card>
  );
}
