/**
 * The request log explorer's client side: its filters (URL query parameters under the logs API's own
 * names, so a filtered view is a link to share), the checks the filter bar runs before sending a value,
 * and the queries of the list, one record and the project's keys.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type ApiKey, api, type LogDetail, type LogEntry, projectUrl, qs } from "./api";
import type { LogLabels } from "./api-usage";

/** The filters, named as the logs API names them (GET …/logs?…). */
export const LOG_FILTER_KEYS = [
  "outcome",
  "status",
  "model",
  "keyId",
  "tag",
  "user",
  "from",
  "to",
  "minCostUsd",
  "maxCostUsd",
  "minLatencyMs",
  "maxLatencyMs",
  "q",
] as const;
export type LogFilterKey = (typeof LOG_FILTER_KEYS)[number];
export type LogFilters = Partial<Record<LogFilterKey, string>>;

/** The filters in a URL's query string (blank values left out). */
export function filtersOf(params: URLSearchParams): LogFilters {
  const f: LogFilters = {};
  for (const k of LOG_FILTER_KEYS) {
    const v = params.get(k)?.trim();
    if (v) f[k] = v;
  }
  return f;
}

/** Why a typed cost is not one the API takes (a plain decimal, at most 6 places), or null. */
export const costProblem = (v: string) =>
  /^(\d{1,7}(\.\d{0,6})?|\.\d{1,6})$/.test(v) ? null : "A USD amount such as 0.05 (at most 6 decimals)";

/** Why a typed latency is not one the API takes (whole milliseconds), or null. */
export const latencyProblem = (v: string) => (/^\d{1,8}$/.test(v) ? null : "Whole milliseconds, e.g. 500");

/** One upstream call of a request, as the log keeps it (retries and fallbacks each count). */
export interface LogAttempt {
  /** "provider/model". */
  target: string;
  /** The provider credential's id, when the provider has several (never the key). */
  credential?: string;
  outcome: "ok" | "error" | "skipped_circuit_open" | "skipped_rate_limited" | string;
  errorKind?: string;
  status?: number;
  ms: number;
}

/** The attempts of a record that have the logged shape (anything else is left out). */
export function attemptsOf(attempts: unknown[]): LogAttempt[] {
  return attempts.filter(
    (a): a is LogAttempt =>
      typeof a === "object" &&
      a !== null &&
      typeof (a as LogAttempt).target === "string" &&
      typeof (a as LogAttempt).outcome === "string" &&
      typeof (a as LogAttempt).ms === "number",
  );
}

export type LogRow = LogEntry & LogLabels;
export type LogRecord = LogDetail & LogLabels;

const logsKey = (org: string, project: string) => ["org", org, "project", project, "logs"];

export function useLogPage(org: string, project: string, filters: LogFilters, cursor: string | undefined) {
  return useQuery({
    queryKey: [...logsKey(org, project), filters, cursor],
    queryFn: () =>
      api.get<{ logs: LogRow[]; nextCursor: string | null }>(
        projectUrl(org, project, `/logs${qs({ ...filters, limit: 25, cursor })}`),
      ),
    placeholderData: keepPreviousData,
  });
}

export function useLogRecord(org: string, project: string, requestId: string | null) {
  return useQuery({
    queryKey: ["org", org, "project", project, "log", requestId],
    queryFn: () => api.get<LogRecord>(projectUrl(org, project, `/logs/${encodeURIComponent(requestId ?? "")}`)),
    enabled: !!requestId,
  });
}

/** The project's keys (every role may list them): the key filter's choices, and a record's key by name. */
export function useProjectKeys(org: string, project: string) {
  return useQuery({
    queryKey: ["org", org, "project", project, "keys"],
    queryFn: () => api.get<{ keys: ApiKey[] }>(projectUrl(org, project, "/keys")),
  });
}

export const logsExportUrl = (org: string, project: string, filters: LogFilters, format: "csv" | "jsonl") =>
  projectUrl(org, project, `/logs/export${qs({ ...filters, format })}`);
