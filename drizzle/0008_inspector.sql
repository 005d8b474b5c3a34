ALTER TABLE "tollgate"."effects" ADD COLUMN "retries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tollgate"."effects" ADD COLUMN "retry_log" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
CREATE INDEX "effects_open_idx" ON "tollgate"."effects" USING btree ("machine","status") WHERE status <> 'completed';--> statement-breakpoint
CREATE INDEX "rejections_machine_at_idx" ON "tollgate"."rejections" USING btree ("machine","at");