CREATE TABLE "tollgate"."audit_checkpoints" (
	"machine" text NOT NULL,
	"entity_id" text NOT NULL,
	"version" integer NOT NULL,
	"findings" jsonb,
	"audited_at" timestamp with time zone NOT NULL,
	CONSTRAINT "audit_checkpoints_machine_entity_id_pk" PRIMARY KEY("machine","entity_id")
);
--> statement-breakpoint
CREATE TABLE "tollgate"."audit_drift" (
	"machine" text NOT NULL,
	"kind" text NOT NULL,
	"entities" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "audit_drift_machine_kind_pk" PRIMARY KEY("machine","kind")
);
--> statement-breakpoint
CREATE INDEX "audit_checkpoints_drift_idx" ON "tollgate"."audit_checkpoints" USING btree ("machine") WHERE findings IS NOT NULL;