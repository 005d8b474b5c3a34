CREATE SCHEMA "tollgate";
--> statement-breakpoint
CREATE TABLE "tollgate"."effects" (
	"id" text PRIMARY KEY NOT NULL,
	"transition_id" uuid NOT NULL,
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"seq" integer NOT NULL,
	"idx" integer NOT NULL,
	"type" text NOT NULL,
	"params" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"result" jsonb,
	"error" jsonb,
	"compensated" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"dispatched_at" timestamp with time zone,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tollgate"."entities" (
	"machine" text NOT NULL,
	"id" text NOT NULL,
	"machine_version" integer NOT NULL,
	"snapshot" jsonb NOT NULL,
	"state" text NOT NULL,
	"version" integer NOT NULL,
	"state_entered_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "entities_machine_id_pk" PRIMARY KEY("machine","id")
);
--> statement-breakpoint
CREATE TABLE "tollgate"."rejections" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"state" text,
	"event_type" text NOT NULL,
	"event" jsonb,
	"code" text NOT NULL,
	"message" text NOT NULL,
	"idempotency_key" text,
	"actor" text,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tollgate"."timers" (
	"id" text PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"transition_id" uuid NOT NULL,
	"send_id" text NOT NULL,
	"event" jsonb NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'scheduled' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"armed_at" timestamp with time zone,
	"settled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tollgate"."transitions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"seq" integer NOT NULL,
	"event_type" text NOT NULL,
	"event" jsonb NOT NULL,
	"from_state" text,
	"to_state" text NOT NULL,
	"snapshot" jsonb NOT NULL,
	"state_entered_at" timestamp with time zone NOT NULL,
	"idempotency_key" text,
	"fingerprint" text NOT NULL,
	"machine_version" integer NOT NULL,
	"policy_version" text,
	"actor" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "effects_entity_idx" ON "tollgate"."effects" USING btree ("machine","entity_id","seq");--> statement-breakpoint
CREATE INDEX "effects_pending_idx" ON "tollgate"."effects" USING btree ("created_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "effects_dispatched_idx" ON "tollgate"."effects" USING btree ("dispatched_at") WHERE status = 'dispatched';--> statement-breakpoint
CREATE INDEX "entities_machine_state_idx" ON "tollgate"."entities" USING btree ("machine","state");--> statement-breakpoint
CREATE INDEX "rejections_entity_idx" ON "tollgate"."rejections" USING btree ("machine","entity_id");--> statement-breakpoint
CREATE INDEX "rejections_at_idx" ON "tollgate"."rejections" USING btree ("at");--> statement-breakpoint
CREATE INDEX "timers_entity_idx" ON "tollgate"."timers" USING btree ("machine","entity_id","send_id");--> statement-breakpoint
CREATE INDEX "timers_due_idx" ON "tollgate"."timers" USING btree ("due_at") WHERE status = 'scheduled';--> statement-breakpoint
CREATE UNIQUE INDEX "transitions_entity_seq_uq" ON "tollgate"."transitions" USING btree ("machine","entity_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "transitions_entity_key_uq" ON "tollgate"."transitions" USING btree ("machine","entity_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "transitions_machine_created_idx" ON "tollgate"."transitions" USING btree ("machine","created_at");