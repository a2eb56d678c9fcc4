/**
 * Filters kept in a page's query string, so a filtered view can be shared and survives a reload.
 * A change patches the URL as it is now, not as the page last rendered it: the router renders a new
 * location in a transition, so a second change made before that render (two quick picks in a row)
 * would otherwise start from the older URL and undo the first.
 */
import { useCallback } from "react";
import { useSearchParams } from "react-router";

/** Sets the given query parameters ("" or undefined removes one), keeping the others. */
export function useQueryPatch(): (patch: Readonly<Record<string, string | undefined>>) => void {
  const [, setParams] = useSearchParams();
  return useCallback(
    (patch) =>
      setParams(
        () => {
          const next = new URLSearchParams(window.location.search);
          for (const [k, v] of Object.entries(patch)) {
            if (v) next.set(k, v);
            else next.delete(k);
          }
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
}
