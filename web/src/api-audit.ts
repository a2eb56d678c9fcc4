/**
 * The audit log's API as the dashboard reads it: a page of entries with the names they mention,
 * the filters (kept in the page's URL), and the people and tokens the actor filter offers.
 */
import type { AuditAction } from "../../src/modules/audit/audit.actions";
import { type AuditEntry, orgUrl, qs } from "./api";

/** An entry with the names the server looked up for it. */
export interface AuditLogEntry extends AuditEntry {
  action: AuditAction | (string & {});
  /** The target's current name (a person, a project), when the server could look it up. */
  targetName: string | null;
  /** The project the entry concerns; name null when the project is gone. */
  project: { id: string | null; slug: string | null; name: string | null } | null;
}

export interface Person {
  name: string;
  email: string;
}

export interface AuditLogPage {
  entries: AuditLogEntry[];
  nextCursor: string | null;
  /** The people the page names, by user id, with their current name. */
  people: Record<string, Person>;
}

/** The filters as the page's URL keeps them: `actor` is `user:<id>` or `token:<id>`; dates are `YYYY-MM-DD`. */
export interface AuditFilters {
  action: string;
  actor: string;
  from: string;
  to: string;
}

/** A local calendar day's first or last instant, as the API's ISO time. */
function dayBound(day: string, end: boolean): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const d = new Date(`${day}T${end ? "23:59:59.999" : "00:00:00.000"}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Why the filters cannot be sent as they are (a range that ends before it starts), else null. */
export function rangeError(f: AuditFilters): string | null {
  return f.from && f.to && f.from > f.to ? "To must be on or after From." : null;
}

export function auditLogUrl(org: string, f: AuditFilters, cursor: string | undefined, limit = 50): string {
  const [kind, id] = f.actor.split(/:(.*)/s);
  return orgUrl(
    org,
    `/audit-log${qs({
      action: f.action,
      actorUserId: kind === "user" ? id : undefined,
      actorTokenId: kind === "token" ? id : undefined,
      from: dayBound(f.from, false),
      to: dayBound(f.to, true),
      cursor,
      limit,
    })}`,
  );
}

/** The organization's API tokens as the actor filter lists them. */
export interface ActorToken {
  id: string;
  name: string;
  status: string;
}
