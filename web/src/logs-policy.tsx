/** A request's security policy verdict as the log keeps it: blocked or not, the findings with masked excerpts. */
import { Alert, Badge, Code, Stack, Table, Text } from "@mantine/core";
import type { PolicyVerdict } from "./api";

export function PolicyVerdictView({ policy }: { policy: PolicyVerdict | null | undefined }) {
  return (
    <Stack gap={4} data-testid="log-policy">
      <Text fw={600}>Security policy</Text>
      {!policy ? (
        <Text size="sm" c="dimmed">
          The policy found nothing in this request.
        </Text>
      ) : (
        <>
          {policy.blocked && (
            <Alert color="red" p="xs">
              Blocked on {policy.blocked.direction}:{" "}
              {policy.blocked.ruleName ? `rule “${policy.blocked.ruleName}”` : policy.blocked.type}
            </Alert>
          )}
          <Table.ScrollContainer minWidth={560}>
            <Table aria-label="Policy findings">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Direction</Table.Th>
                  <Table.Th>Finding</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Severity</Table.Th>
                  <Table.Th>Excerpt (masked)</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {policy.findings.map((f, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: a finding has no id, and the list is read-only: it never reorders
                  <Table.Tr key={i}>
                    <Table.Td>{f.direction}</Table.Td>
                    <Table.Td>
                      {f.ruleName ? `rule “${f.ruleName}”` : `${f.type}${f.subtype ? ` (${f.subtype})` : ""}`}
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={f.action === "block" ? "red" : "yellow"}>
                        {f.action}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{f.severity}</Table.Td>
                    <Table.Td>
                      <Code>{f.excerpt}</Code>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      )}
    </Stack>
  );
}
