/** Small labels of a request log entry, in the list and in its drawer: the cache hit, the end user and tags. */
import { Badge, Group, Text } from "@mantine/core";

/** A small badge on a request the response cache answered; nothing for a miss or an uncached request. */
export function CacheHit({ cache }: { cache?: string | null }) {
  if (cache !== "hit") return null;
  return (
    <Badge size="sm" variant="light" color="cyan" tt="none" data-testid="log-cache-hit">
      cache hit
    </Badge>
  );
}

/** The end user and the tags of a request, compact (a table cell). */
export function UserAndTags({ user, tags }: { user: string | null; tags?: string[] | null }) {
  if (!user && !tags?.length) return <Text c="dimmed">—</Text>;
  return (
    <Group gap={4} wrap="wrap" data-testid="log-user-tags">
      {user && (
        <Text size="sm" span>
          {user}
        </Text>
      )}
      {tags?.map((t) => (
        <Badge key={t} size="sm" variant="outline" color="gray" tt="none">
          {t}
        </Badge>
      ))}
    </Group>
  );
}
