/** The organization's audit log (owners, admins): who did what, newest first, cursor-paged. */
import { Code, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, type AuditEntry, orgUrl, qs } from "../api";
import { dateTime } from "../format";
import { PageLoader, QueryError, useCurrentOrg } from "../session";
import { Pager, useCursorPages } from "../paging";

export function AuditPage() {
  const org = useCurrentOrg()!;
  const [action, setAction] = useState("");
  const [debounced] = useDebouncedValue(action.trim(), 300);
  const pages = useCursorPages();
  const [lastAction, setLastAction] = useState(debounced);
  if (lastAction !== debounced) {
    setLastAction(debounced);
    pages.reset();
  }
  const cursor = pages.cursor;
  const page = useQuery({
    queryKey: ["org", org.slug, "audit", debounced, cursor],
    queryFn: () =>
      api.get<{ entries: AuditEntry[]; nextCursor: string | null }>(
        orgUrl(org.slug, `/audit-log${qs({ action: debounced, cursor, limit: 50 })}`),
      ),
    placeholderData: keepPreviousData,
  });
  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <TextInput
        label="Action"
        placeholder="e.g. member.invited"
        value={action}
        onChange={(e) => setAction(e.currentTarget.value)}
        w={260}
      />
      {page.isPending ? (
        <PageLoader />
      ) : page.error ? (
        <QueryError error={page.error} retry={() => page.refetch()} />
      ) : page.data.entries.length === 0 ? (
        <Text c="dimmed">No entries{debounced ? ` for “${debounced}”` : ""}.</Text>
      ) : (
        <>
          <Table.ScrollContainer minWidth={800}>
            <Table striped aria-label="Audit log">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Actor</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Details</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {page.data.entries.map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td>{dateTime(e.createdAt)}</Table.Td>
                    <Table.Td>
                      {e.actor.token
                        ? `API token “${e.actor.token.name ?? e.actor.token.id}”`
                        : (e.actor.email ?? "system")}
                    </Table.Td>
                    <Table.Td>
                      <Code>{e.action}</Code>
                    </Table.Td>
                    <Table.Td>{e.targetType}</Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace" lineClamp={2}>
                        {Object.keys(e.metadata).length ? JSON.stringify(e.metadata) : ""}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager pages={pages} nextCursor={page.data.nextCursor} />
        </>
      )}
    </Stack>
  );
}
