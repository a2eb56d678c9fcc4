/**
 * A request's upstream attempts as a timeline: one row per call (retries and fallbacks each count,
 * targets skipped for an open circuit or a rate limit too) with its target, credential, outcome, status
 * and duration, and a bar placed where it ran within the request (attempts run one after another).
 */
import { Badge, Box, Code, Group, Stack, Text } from "@mantine/core";
import type { LogAttempt } from "./api-logs";
import { num } from "./format";

const OUTCOME: Record<string, { color: string; label: string }> = {
  ok: { color: "green", label: "ok" },
  error: { color: "red", label: "error" },
  skipped_circuit_open: { color: "gray", label: "skipped: circuit open" },
  skipped_rate_limited: { color: "gray", label: "skipped: credential rate-limited" },
};

export function AttemptsTimeline({ attempts, latencyMs }: { attempts: LogAttempt[]; latencyMs: number }) {
  if (attempts.length === 0)
    return (
      <Text size="sm" c="dimmed" data-testid="log-attempts">
        No upstream call: the gateway answered or refused this request itself.
      </Text>
    );
  const upstream = attempts.reduce((s, a) => s + Math.max(0, a.ms), 0);
  const total = Math.max(latencyMs, upstream, 1);
  let start = 0;
  return (
    <Stack gap={6} data-testid="log-attempts" role="list" aria-label="Upstream attempts">
      {attempts.map((a, i) => {
        const look = OUTCOME[a.outcome] ?? { color: "gray", label: a.outcome };
        const left = (start / total) * 100;
        const width = Math.max((Math.max(0, a.ms) / total) * 100, 0.75);
        start += Math.max(0, a.ms);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: attempts are read-only and in the order they ran
          <Box key={i} role="listitem" data-testid="log-attempt">
            <Group gap={6} wrap="wrap">
              <Text size="sm" c="dimmed">
                #{i + 1}
              </Text>
              <Code>{a.target}</Code>
              {a.credential && (
                <Text size="xs" c="dimmed">
                  credential <Code>{a.credential}</Code>
                </Text>
              )}
              <Badge size="sm" variant="light" color={look.color} tt="none">
                {look.label}
              </Badge>
              {a.status !== undefined && <Text size="sm">HTTP {a.status}</Text>}
              {a.errorKind && (
                <Text size="xs" c="dimmed">
                  ({a.errorKind})
                </Text>
              )}
              <Text size="sm" fw={600}>
                {num(a.ms)} ms
              </Text>
            </Group>
            <Box
              pos="relative"
              h={8}
              mt={2}
              bg="var(--mantine-color-default-border)"
              style={{ borderRadius: 4 }}
              aria-hidden
            >
              <Box
                pos="absolute"
                top={0}
                h={8}
                bg={`var(--mantine-color-${look.color}-6)`}
                style={{ left: `${left}%`, width: `${width}%`, borderRadius: 4 }}
              />
            </Box>
          </Box>
        );
      })}
      <Text size="xs" c="dimmed">
        Upstream {num(upstream)} ms of the request's {num(latencyMs)} ms.
      </Text>
    </Stack>
  );
}
