/** Shared route schema pieces. */
import { z } from "zod";

export const orgParams = z.object({ org: z.string().min(1).max(64) });
export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string(), details: z.unknown().optional() }),
});
export const noContent = z.null().describe("No content");
