/** Shared route schema pieces. */
import { z } from "zod";

/** An email address's domain as policies compare it: lower case, after the last "@"; "" without one. */
export function emailDomain(email: string): string {
  const at = email.lastIndexOf("@");
  return at < 0
    ? ""
    : email
        .slice(at + 1)
        .trim()
        .toLowerCase();
}

/**
 * A name is one line of text: no control characters (line breaks included).
 * Names end up in email subjects and bodies, where a line break could forge
 * headers or a fake "accept" link above the real one.
 */
export const SINGLE_LINE = /^[^\p{Cc}\u2028\u2029]*$/u;
export const SINGLE_LINE_MESSAGE = "Must be a single line of text without control characters.";

/** A display name (organization, project, key, token): one line, 1–100 characters after trimming. */
export const nameField = z
  .string()
  .trim()
  .min(1, "Name is required.")
  .max(100, "Name must be at most 100 characters.")
  .regex(SINGLE_LINE, SINGLE_LINE_MESSAGE);

export const orgParams = z.object({ org: z.string().min(1).max(64) });
