/**
 * A provider's discovered models on its card (OpenAI format: what its
 * upstream's `/models` listed, e.g. a preset's vendor): how many and when,
 * the list with each one's prices on demand ("not priced" when nothing
 * prices it: the organization pays the vendor itself), and, for those who
 * manage providers, "Refresh models" to list them again.
 */
import { Button, Code, Collapse, Group, Stack, Table, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, orgUrl, type Provider, type ProviderDiscovery } from "../api";
import { dateTime } from "../format";

const plural = (n: number) => `${n} model${n === 1 ? "" : "s"}`;

export function DiscoveredModels({
  org,
  provider: p,
  canManage,
}: {
  org: string;
  provider: Provider;
  canManage: boolean;
}) {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState("");
  const refresh = useMutation({
    mutationFn: () =>
      api.post<Provider & { discovery?: ProviderDiscovery }>(orgUrl(org, `/providers/${p.slug}/discover`), {}),
    onSuccess: async (r) => {
      const d = r.discovery;
      const from = d?.source === "price-library" ? " (from the price library: the API has no list)" : "";
      notifications.show({ color: "green", message: `${r.name}: ${plural(d?.count ?? 0)} found${from}.` });
      await qc.invalidateQueries({ queryKey: ["org", org, "providers"] });
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  const models = p.discoveredModels;
  const q = filter.trim().toLowerCase();
  const shown = (models ?? []).filter((m) => !q || m.id.toLowerCase().includes(q));
  return (
    <Stack gap="xs" mt="xs" data-testid="provider-discovered">
      <Group gap="xs">
        <Text size="sm">
          {models
            ? `${plural(models.length)} listed by the provider${p.discoveredAt ? ` · updated ${dateTime(p.discoveredAt)}` : ""}`
            : "The provider's models have not been listed yet."}
        </Text>
        {models && models.length > 0 && (
          <Button size="xs" variant="subtle" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
            {open ? "Hide models" : "Show models"}
          </Button>
        )}
        {canManage && (
          <Button size="xs" variant="light" loading={refresh.isPending} onClick={() => refresh.mutate()}>
            Refresh models
          </Button>
        )}
      </Group>
      <Collapse expanded={open && !!models?.length}>
        <Stack gap="xs">
          {(models?.length ?? 0) > 10 && (
            <TextInput
              aria-label={`Filter the models of ${p.name}`}
              placeholder="Filter models"
              size="xs"
              maw={300}
              value={filter}
              onChange={(e) => setFilter(e.currentTarget.value)}
            />
          )}
          <Table.ScrollContainer minWidth={560} mah={400}>
            <Table aria-label={`Discovered models of ${p.name}`} stickyHeader>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Model</Table.Th>
                  <Table.Th>Input $/M</Table.Th>
                  <Table.Th>Cached input $/M</Table.Th>
                  <Table.Th>Output $/M</Table.Th>
                  <Table.Th>Context</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shown.map((m) => (
                  <Table.Tr key={m.id}>
                    <Table.Td>
                      <Code>{`${p.slug}/${m.id}`}</Code>
                    </Table.Td>
                    {m.priced ? (
                      <>
                        <Table.Td>{m.inputPricePerMillionUsd}</Table.Td>
                        <Table.Td>{m.cachedInputPricePerMillionUsd}</Table.Td>
                        <Table.Td>{m.outputPricePerMillionUsd}</Table.Td>
                      </>
                    ) : (
                      <Table.Td colSpan={3}>
                        <Text size="sm" c="dimmed">
                          not priced
                        </Text>
                      </Table.Td>
                    )}
                    <Table.Td>{m.contextWindow ?? "—"}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Stack>
      </Collapse>
    </Stack>
  );
}
