CREATE TABLE "job_leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"lease_until" timestamp with time zone NOT NULL,
	"last_run_at" timestamp with time zone,
	"last_result" jsonb
);
--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "log_retention_days" integer;
--> statement-breakpoint
-- request_logs becomes a table partitioned by month of created_at (one partition per UTC month,
-- request_logs_pYYYY_MM, plus a default partition that catches anything outside them). Old months
-- are dropped whole by the retention job; every partition has the same indexes as the parent.
ALTER TABLE "request_logs" RENAME TO "request_logs_unpartitioned";
--> statement-breakpoint
ALTER INDEX "request_logs_project_time_idx" RENAME TO "request_logs_unpartitioned_project_time_idx";
--> statement-breakpoint
ALTER INDEX "request_logs_org_time_idx" RENAME TO "request_logs_unpartitioned_org_time_idx";
--> statement-breakpoint
ALTER TABLE "request_logs_unpartitioned" RENAME CONSTRAINT "request_logs_pkey" TO "request_logs_unpartitioned_pkey";
--> statement-breakpoint
CREATE TABLE "request_logs" (
	"id" text NOT NULL,
	"org_id" text NOT NULL,
	"project_id" text NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"endpoint" text NOT NULL,
	"model_requested" text,
	"model_served" text,
	"provider" text,
	"status" integer NOT NULL,
	"outcome" text NOT NULL,
	"error_code" text,
	"error_source" text,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"cached_input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"usage_estimated" boolean DEFAULT false NOT NULL,
	"cost_micro_usd" bigint,
	"latency_ms" integer NOT NULL,
	"ttft_ms" integer,
	"attempts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"client_ip" text,
	"user_field" text,
	"stream" boolean DEFAULT false NOT NULL,
	"request_body" jsonb,
	"response_body" jsonb,
	"policy" jsonb,
	CONSTRAINT "request_logs_id_created_at_pk" PRIMARY KEY("id","created_at")
) PARTITION BY RANGE ("created_at");
--> statement-breakpoint
CREATE INDEX "request_logs_project_time_idx" ON "request_logs" USING btree ("project_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "request_logs_org_time_idx" ON "request_logs" USING btree ("org_id","created_at");
--> statement-breakpoint
CREATE TABLE "request_logs_default" PARTITION OF "request_logs" DEFAULT;
--> statement-breakpoint
-- Creates the partition of the month starting at `month_start` if it does not exist. Rows of that
-- month already in the default partition move into it, so this is safe to call at any time, from
-- any replica (callers hold the job lease; a concurrent duplicate is caught).
CREATE OR REPLACE FUNCTION tollgate_request_logs_partition(month_start timestamptz) RETURNS boolean AS $$
DECLARE
  lo timestamptz := date_trunc('month', month_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  hi timestamptz := (date_trunc('month', month_start AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  part text := 'request_logs_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE request_logs INCLUDING DEFAULTS)', part);
  EXECUTE format('WITH moved AS (DELETE FROM request_logs_default WHERE created_at >= %L AND created_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved', lo, hi, part);
  EXECUTE format('ALTER TABLE request_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  RETURN true;
EXCEPTION WHEN duplicate_table OR unique_violation THEN
  RETURN false;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
-- Partitions for every month of the existing logs, this month and the next two.
DO $$
DECLARE
  m timestamptz;
  first_month timestamptz;
BEGIN
  SELECT date_trunc('month', LEAST(COALESCE(MIN(created_at), now()), now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' INTO first_month FROM request_logs_unpartitioned;
  m := first_month;
  WHILE m <= now() + interval '2 months' LOOP
    PERFORM tollgate_request_logs_partition(m);
    m := m + interval '1 month';
  END LOOP;
END $$;
--> statement-breakpoint
INSERT INTO "request_logs" SELECT "id", "org_id", "project_id", "key_id", "created_at", "endpoint", "model_requested", "model_served", "provider", "status", "outcome", "error_code", "error_source", "input_tokens", "cached_input_tokens", "output_tokens", "usage_estimated", "cost_micro_usd", "latency_ms", "ttft_ms", "attempts", "client_ip", "user_field", "stream", "request_body", "response_body", "policy" FROM "request_logs_unpartitioned";
--> statement-breakpoint
DROP TABLE "request_logs_unpartitioned";
