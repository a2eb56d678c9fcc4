CREATE TABLE "billing_alert_subscribers" (
	"org_id" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_alert_subscribers_org_id_user_id_pk" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "billing_customers" (
	"org_id" text PRIMARY KEY NOT NULL,
	"stripe_customer_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_customers_stripe_customer_id_unique" UNIQUE("stripe_customer_id")
);
--> statement-breakpoint
CREATE TABLE "billing_events_fired" (
	"org_id" text NOT NULL,
	"event" text NOT NULL,
	"period" text NOT NULL,
	"fired_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_events_fired_org_id_event_period_pk" PRIMARY KEY("org_id","event","period")
);
--> statement-breakpoint
CREATE TABLE "billing_payments" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"kind" text NOT NULL,
	"amount_micro_usd" bigint NOT NULL,
	"status" text NOT NULL,
	"payment_intent_id" text,
	"refunded_micro_usd" bigint DEFAULT 0 NOT NULL,
	"created_by_user_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_settings" (
	"org_id" text PRIMARY KEY NOT NULL,
	"auto_topup_enabled" boolean DEFAULT false NOT NULL,
	"auto_topup_threshold_micro_usd" bigint,
	"auto_topup_amount_micro_usd" bigint,
	"low_balance_alert_micro_usd" bigint,
	"monthly_budget_micro_usd" bigint,
	"alert_webhook_url" text,
	"alert_webhook_secret_ciphertext" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_usage_batches" (
	"id" text PRIMARY KEY NOT NULL,
	"rows" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stripe_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "billing_accounts" ADD COLUMN "usage_micro_usd" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_accounts" ADD COLUMN "credit_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "billing_payments_org_idx" ON "billing_payments" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "billing_payments_pi_idx" ON "billing_payments" USING btree ("payment_intent_id");--> statement-breakpoint
-- The trigger also keeps the usage total and the credit version (see billing.schema.ts).
CREATE OR REPLACE FUNCTION tollgate_ledger_apply() RETURNS trigger AS $$
DECLARE
  used bigint := CASE WHEN NEW.kind = 'usage' THEN -NEW.amount_micro_usd ELSE 0 END;
  seq bigint := CASE WHEN NEW.kind = 'usage' THEN 0 ELSE 1 END;
BEGIN
  INSERT INTO billing_accounts (org_id, balance_micro_usd, usage_micro_usd, credit_seq, updated_at)
    VALUES (NEW.org_id, NEW.amount_micro_usd, used, seq, now())
    ON CONFLICT (org_id) DO UPDATE
      SET balance_micro_usd = billing_accounts.balance_micro_usd + EXCLUDED.balance_micro_usd,
          usage_micro_usd = billing_accounts.usage_micro_usd + EXCLUDED.usage_micro_usd,
          credit_seq = billing_accounts.credit_seq + EXCLUDED.credit_seq,
          updated_at = now();
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
UPDATE billing_accounts a SET
  usage_micro_usd = COALESCE((SELECT -SUM(amount_micro_usd) FROM ledger_entries l WHERE l.org_id = a.org_id AND l.kind = 'usage'), 0),
  credit_seq = (SELECT COUNT(*) FROM ledger_entries l WHERE l.org_id = a.org_id AND l.kind <> 'usage');
