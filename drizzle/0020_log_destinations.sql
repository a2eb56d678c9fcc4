CREATE TABLE "log_destinations" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"kind" text NOT NULL,
	"url" text NOT NULL,
	"secret_ciphertext" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"cursor_at" timestamp with time zone NOT NULL,
	"cursor_id" text,
	"long_cursor_at" timestamp with time zone NOT NULL,
	"long_cursor_id" text,
	"delivered_rows" bigint DEFAULT 0 NOT NULL,
	"last_delivery_at" timestamp with time zone,
	"dead_lettered_rows" bigint DEFAULT 0 NOT NULL,
	"dead_lettered_batches" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"failing_since" timestamp with time zone,
	"next_attempt_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "log_destinations" ADD CONSTRAINT "log_destinations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "log_destinations" ADD CONSTRAINT "log_destinations_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "log_destinations_org_idx" ON "log_destinations" USING btree ("org_id","created_at");