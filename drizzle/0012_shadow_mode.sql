CREATE TABLE "tollgate"."machine_modes" (
	"machine" text PRIMARY KEY NOT NULL,
	"mode" text NOT NULL,
	"switched_at" timestamp with time zone NOT NULL,
	"switched_by" text NOT NULL,
	"reason" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tollgate"."mode_switches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"from_mode" text NOT NULL,
	"to_mode" text NOT NULL,
	"actor" text NOT NULL,
	"reason" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tollgate"."shadow_observations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"observation_key" text,
	"fingerprint" text NOT NULL,
	"event_type" text NOT NULL,
	"event" jsonb NOT NULL,
	"from_state" text,
	"to_state" text NOT NULL,
	"mirror_state" text,
	"expected_state" text,
	"verdict" text NOT NULL,
	"code" text,
	"reason" text,
	"observed_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "mode_switches_machine_idx" ON "tollgate"."mode_switches" USING btree ("machine","id");--> statement-breakpoint
CREATE UNIQUE INDEX "shadow_observations_key_uq" ON "tollgate"."shadow_observations" USING btree ("machine","entity_id","observation_key");--> statement-breakpoint
CREATE INDEX "shadow_observations_report_idx" ON "tollgate"."shadow_observations" USING btree ("machine","observed_at");