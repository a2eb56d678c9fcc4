/**
 * Removing (revoking, deleting) one item of a list: the DELETE, a green note
 * saying what happened, the list read again, or the server's error in red.
 */
import { notifications } from "@mantine/notifications";
import { type QueryKey, useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "./api";

export function useRemoval(opts: {
  /** The item's URL. */
  url: (id: string) => string;
  /** What the note says once it is done. */
  done: string;
  /** The list to read again. */
  queryKey: QueryKey;
  /** Runs once it is done (e.g. closes the confirmation). */
  onDone?: () => void;
}) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.del(opts.url(id)),
    onSuccess: async () => {
      opts.onDone?.();
      notifications.show({ color: "green", message: opts.done });
      await qc.invalidateQueries({ queryKey: opts.queryKey });
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
}
