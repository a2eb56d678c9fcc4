/** Cursor paging for the API's `?cursor=` lists: remembers the cursors seen so Previous works without offsets. */
import { Button, Group, Text } from "@mantine/core";
import { useState } from "react";

export interface CursorPages {
  /** Cursor of the page on screen (undefined: the first page). */
  cursor: string | undefined;
  /** 1-based number of the page on screen. */
  number: number;
  reset(): void;
  back(): void;
  next(cursor: string): void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    number: cursors.length,
    reset: () => setCursors([undefined]),
    back: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    next: (cursor) => setCursors((c) => [...c, cursor]),
  };
}

export function Pager({ pages, nextCursor }: { pages: CursorPages; nextCursor: string | null | undefined }) {
  return (
    <Group justify="flex-end">
      <Button variant="default" size="xs" disabled={pages.number === 1} onClick={pages.back}>
        Previous
      </Button>
      <Text size="sm">Page {pages.number}</Text>
      <Button variant="default" size="xs" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        Next
      </Button>
    </Group>
  );
}
