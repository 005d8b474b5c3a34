CREATE TABLE "tollgate"."demo_charges" (
	"idempotency_key" text PRIMARY KEY NOT NULL,
	"customer_id" text NOT NULL,
	"amount_cents" integer NOT NULL,
	"status" text NOT NULL,
	"calls" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tollgate"."demo_emails" (
	"effect_id" text PRIMARY KEY NOT NULL,
	"customer_id" text NOT NULL,
	"template" text NOT NULL,
	"calls" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tollgate"."effects" ADD COLUMN "follow_up" jsonb;--> statement-breakpoint
ALTER TABLE "tollgate"."effects" ADD COLUMN "follow_up_outcome" jsonb;--> statement-breakpoint
CREATE INDEX "demo_emails_customer_idx" ON "tollgate"."demo_emails" USING btree ("customer_id","template");--> statement-breakpoint
CREATE INDEX "effects_follow_up_idx" ON "tollgate"."effects" USING btree ("completed_at") WHERE follow_up IS NOT NULL AND follow_up_outcome IS NULL;