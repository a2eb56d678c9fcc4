CREATE TABLE "response_cache" (
	"project_id" text NOT NULL,
	"key" text NOT NULL,
	"org_id" text NOT NULL,
	"entry" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "response_cache_project_id_key_pk" PRIMARY KEY("project_id","key")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "budget_micro_usd" bigint;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "budget_period" text;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "allowed_models" jsonb;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "rate_limit_rpm" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "rate_limit_tpm" integer;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "cache_mode" text DEFAULT 'off' NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "cache_ttl_seconds" integer DEFAULT 3600 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "end_user_budget_micro_usd" bigint;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "end_user_budget_period" text;--> statement-breakpoint
ALTER TABLE "request_logs" ADD COLUMN "cache" text;--> statement-breakpoint
CREATE INDEX "response_cache_expires_idx" ON "response_cache" USING btree ("expires_at");