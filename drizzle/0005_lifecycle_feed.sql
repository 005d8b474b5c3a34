CREATE TABLE "tollgate"."feed_consumers" (
	"name" text PRIMARY KEY NOT NULL,
	"sink" text NOT NULL,
	"target" text,
	"secret" text,
	"machines" jsonb,
	"events" jsonb,
	"states" jsonb,
	"with_context" boolean DEFAULT false NOT NULL,
	"max_attempts" integer DEFAULT 10 NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"cursor_xid" bigint NOT NULL,
	"cursor_seq" integer DEFAULT 0 NOT NULL,
	"cursor_id" uuid DEFAULT '00000000-0000-0000-0000-000000000000' NOT NULL,
	"lease_owner" text,
	"lease_token" text,
	"lease_until" timestamp with time zone,
	"delivered" bigint DEFAULT 0 NOT NULL,
	"retried" bigint DEFAULT 0 NOT NULL,
	"dead_lettered" bigint DEFAULT 0 NOT NULL,
	"last_delivered_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tollgate"."feed_dead_letters" (
	"consumer" text NOT NULL,
	"transition_id" uuid NOT NULL,
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"seq" integer NOT NULL,
	"attempts" integer NOT NULL,
	"error" text NOT NULL,
	"status" text DEFAULT 'dead' NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "feed_dead_letters_consumer_transition_id_pk" PRIMARY KEY("consumer","transition_id")
);
--> statement-breakpoint
CREATE TABLE "tollgate"."feed_processes" (
	"id" text PRIMARY KEY NOT NULL,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tollgate"."transitions" ADD COLUMN "xid" bigint DEFAULT (pg_current_xact_id()::text)::bigint NOT NULL;--> statement-breakpoint
CREATE INDEX "feed_dead_letters_entity_idx" ON "tollgate"."feed_dead_letters" USING btree ("consumer","machine","entity_id","seq");--> statement-breakpoint
CREATE INDEX "transitions_xid_brin" ON "tollgate"."transitions" USING brin ("xid");