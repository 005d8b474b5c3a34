CREATE TABLE "tollgate"."legal_transitions" (
	"machine" text NOT NULL,
	"machine_version" integer NOT NULL,
	"from_state" text NOT NULL,
	"to_state" text NOT NULL,
	CONSTRAINT "legal_transitions_machine_machine_version_from_state_to_state_pk" PRIMARY KEY("machine","machine_version","from_state","to_state")
);
--> statement-breakpoint
CREATE TABLE "tollgate"."overrides" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"db_user" text NOT NULL,
	"reason" text NOT NULL,
	"illegal" boolean NOT NULL,
	"before" jsonb NOT NULL,
	"after" jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "overrides_entity_idx" ON "tollgate"."overrides" USING btree ("machine","entity_id");