CREATE TABLE "billing_usage_dims_hourly" (
	"org_id" text NOT NULL,
	"project_id" text NOT NULL,
	"dim" text NOT NULL,
	"value" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"cached_input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_micro_usd" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "billing_usage_dims_hourly_org_id_project_id_dim_value_hour_pk" PRIMARY KEY("org_id","project_id","dim","value","hour")
);
--> statement-breakpoint
CREATE TABLE "virtual_models" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"name" text NOT NULL,
	"strategy" text NOT NULL,
	"targets" jsonb NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "request_logs" ADD COLUMN "tags" jsonb;--> statement-breakpoint
ALTER TABLE "request_logs" ADD COLUMN "metadata" jsonb;--> statement-breakpoint
ALTER TABLE "virtual_models" ADD CONSTRAINT "virtual_models_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "virtual_models" ADD CONSTRAINT "virtual_models_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "billing_usage_dims_hourly_org_hour_idx" ON "billing_usage_dims_hourly" USING btree ("org_id","dim","hour");--> statement-breakpoint
CREATE UNIQUE INDEX "virtual_models_org_name_uq" ON "virtual_models" USING btree ("org_id","name");