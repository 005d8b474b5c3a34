CREATE TABLE "tollgate"."active_policies" (
	"machine" text PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"activated_at" timestamp with time zone NOT NULL,
	"activated_by" text NOT NULL,
	"reason" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tollgate"."freezes" (
	"id" text PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"events" jsonb,
	"states" jsonb,
	"exceptions" jsonb,
	"reason" text NOT NULL,
	"until" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"lifted_at" timestamp with time zone,
	"lifted_by" text,
	"lift_reason" text
);
--> statement-breakpoint
CREATE TABLE "tollgate"."policy_switches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"from_version" text,
	"to_version" text NOT NULL,
	"actor" text NOT NULL,
	"reason" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "freezes_active_idx" ON "tollgate"."freezes" USING btree ("machine") WHERE lifted_at IS NULL;--> statement-breakpoint
CREATE INDEX "policy_switches_machine_idx" ON "tollgate"."policy_switches" USING btree ("machine","id");