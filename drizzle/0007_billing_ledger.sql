CREATE TABLE "billing_accounts" (
	"org_id" text PRIMARY KEY NOT NULL,
	"balance_micro_usd" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_usage_hourly" (
	"org_id" text NOT NULL,
	"project_id" text NOT NULL,
	"key_id" text NOT NULL,
	"model" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"cached_input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_micro_usd" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "billing_usage_hourly_org_id_project_id_key_id_model_hour_pk" PRIMARY KEY("org_id","project_id","key_id","model","hour")
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"kind" text NOT NULL,
	"amount_micro_usd" bigint NOT NULL,
	"project_id" text,
	"period_start" timestamp with time zone,
	"requests" integer,
	"note" text DEFAULT '' NOT NULL,
	"idempotency_key" text,
	"actor_user_id" text,
	"actor_email" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "billing_usage_hourly_org_hour_idx" ON "billing_usage_hourly" USING btree ("org_id","hour");--> statement-breakpoint
CREATE INDEX "billing_usage_hourly_project_hour_idx" ON "billing_usage_hourly" USING btree ("project_id","hour");--> statement-breakpoint
CREATE INDEX "ledger_entries_org_id_idx" ON "ledger_entries" USING btree ("org_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_entries_idempotency_uq" ON "ledger_entries" USING btree ("idempotency_key");--> statement-breakpoint
-- The ledger is append-only: refuse UPDATE, DELETE and TRUNCATE for every role.
CREATE OR REPLACE FUNCTION tollgate_ledger_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'ledger_entries is append-only';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION tollgate_ledger_immutable();
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON "ledger_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_ledger_immutable();
--> statement-breakpoint
-- The cached balance moves with every ledger row, in the inserting transaction.
CREATE OR REPLACE FUNCTION tollgate_ledger_apply() RETURNS trigger AS $$
BEGIN
  INSERT INTO billing_accounts (org_id, balance_micro_usd, updated_at)
    VALUES (NEW.org_id, NEW.amount_micro_usd, now())
    ON CONFLICT (org_id) DO UPDATE
      SET balance_micro_usd = billing_accounts.balance_micro_usd + EXCLUDED.balance_micro_usd, updated_at = now();
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION tollgate_ledger_apply();
