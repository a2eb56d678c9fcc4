/**
 * A transcript as chat bubbles: system notes across the width, the user's turns on the right, the
 * assistant's and tools' on the left; tool calls by name with their arguments as collapsible, pretty
 * JSON. Long lines wrap and are never cut off.
 */
import { Badge, Box, Code, Group, Paper, Stack, Text } from "@mantine/core";
import { jsonText, type Turn } from "./logs-transcript";

const LOOK: Record<string, { color: string; align: "flex-start" | "flex-end" | "stretch"; label: string }> = {
  system: { color: "yellow", align: "stretch", label: "System" },
  developer: { color: "yellow", align: "stretch", label: "Developer" },
  user: { color: "blue", align: "flex-end", label: "User" },
  assistant: { color: "gray", align: "flex-start", label: "Assistant" },
  tool: { color: "grape", align: "flex-start", label: "Tool" },
};

/** Text that wraps wherever it must (long words and URLs too) and keeps its line breaks. */
export const WRAP = { whiteSpace: "pre-wrap", overflowWrap: "anywhere", wordBreak: "break-word" } as const;

/** Pretty JSON (or text as it is) in a block that wraps. */
export function JsonBlock({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <Code block style={WRAP} data-testid={testId}>
      {typeof value === "string" ? value : JSON.stringify(value, null, 2)}
    </Code>
  );
}

/** A section that opens and closes (a native disclosure: keyboard and screen readers know it). */
export function Disclosure(props: { summary: React.ReactNode; open?: boolean; children: React.ReactNode }) {
  return (
    <details open={props.open}>
      <summary style={{ cursor: "pointer" }}>{props.summary}</summary>
      <Box mt={4}>{props.children}</Box>
    </details>
  );
}

export function Transcript({ turns, testId }: { turns: Turn[]; testId?: string }) {
  return (
    <Stack gap="xs" data-testid={testId}>
      {turns.map((t, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a transcript is read-only: its turns never reorder
        <Bubble key={i} turn={t} />
      ))}
    </Stack>
  );
}

function Bubble({ turn }: { turn: Turn }) {
  const look = LOOK[turn.role] ?? { color: "gray", align: "flex-start" as const, label: turn.role };
  // A tool's JSON result, pretty.
  const json = turn.role === "tool" ? jsonText(turn.text) : undefined;
  return (
    <Paper
      withBorder
      radius="md"
      p="xs"
      maw={look.align === "stretch" ? undefined : "85%"}
      style={{ alignSelf: look.align, borderColor: `var(--mantine-color-${look.color}-4)`, minWidth: 0 }}
      bg={`var(--mantine-color-${look.color}-light)`}
      data-testid="transcript-turn"
      data-role={turn.role}
      aria-label={`${look.label} turn`}
    >
      <Group gap={6} mb={4}>
        <Badge size="xs" variant="filled" color={look.color}>
          {look.label}
        </Badge>
        {turn.toolCallId && (
          <Text size="xs" c="dimmed">
            answers <Code>{turn.toolCallId}</Code>
          </Text>
        )}
      </Group>
      {json !== undefined ? (
        <JsonBlock value={json} />
      ) : (
        turn.text && (
          <Text size="sm" style={WRAP}>
            {turn.text}
          </Text>
        )
      )}
      {turn.toolCalls.map((c, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a turn's calls are read-only and never reorder
        <Box key={i} mt={turn.text || i > 0 ? "xs" : 0} data-testid="transcript-tool-call">
          <Disclosure
            open
            summary={
              <Text span size="sm" fw={600}>
                Tool call: <Code>{c.name}</Code>
                {c.id && (
                  <Text span size="xs" c="dimmed">
                    {" "}
                    ({c.id})
                  </Text>
                )}
              </Text>
            }
          >
            <JsonBlock value={c.args} />
          </Disclosure>
        </Box>
      ))}
      {!turn.text && !turn.toolCalls.length && (
        <Text size="sm" c="dimmed">
          (empty)
        </Text>
      )}
    </Paper>
  );
}
