CREATE TABLE "tollgate"."state_count_deltas" (
	"machine" text NOT NULL,
	"state" text NOT NULL,
	"n" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tollgate"."state_counts" (
	"machine" text NOT NULL,
	"state" text NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "state_counts_machine_state_pk" PRIMARY KEY("machine","state")
);
--> statement-breakpoint
DROP INDEX "tollgate"."entities_machine_state_idx";--> statement-breakpoint
CREATE INDEX "entities_machine_state_entered_idx" ON "tollgate"."entities" USING btree ("machine","state","state_entered_at");--> statement-breakpoint
-- Entities per state, kept exact for every writer of entities (the gate, an override, a bulk load, a delete):
-- triggers append signed moves to state_count_deltas, never update a shared row (a per-state counter row would
-- make every commit into or out of a state wait on the one before it), and store/state-counts.ts folds the moves
-- into state_counts. Hand-written below the generated tables (drizzle-kit does not generate triggers).
CREATE FUNCTION "tollgate"."entities_count_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "tollgate"."state_count_deltas" (machine, state, n) SELECT machine, state, count(*) FROM inserted GROUP BY machine, state;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "tollgate"."entities_count_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "tollgate"."state_count_deltas" (machine, state, n) SELECT machine, state, -count(*) FROM deleted GROUP BY machine, state;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "tollgate"."entities_count_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "tollgate"."state_count_deltas" (machine, state, n) VALUES (OLD.machine, OLD.state, -1), (NEW.machine, NEW.state, 1);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "tollgate"."entities_count_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "tollgate"."state_count_deltas";
  DELETE FROM "tollgate"."state_counts";
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- Inserts and deletes per statement (a bulk load writes one row per state); moves per row, and only when the
-- state changes: a self-transition (RENEW) costs the trigger's WHEN test and nothing else.
CREATE TRIGGER "entities_count_inserted" AFTER INSERT ON "tollgate"."entities"
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "tollgate"."entities_count_inserted"();
--> statement-breakpoint
CREATE TRIGGER "entities_count_deleted" AFTER DELETE ON "tollgate"."entities"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "tollgate"."entities_count_deleted"();
--> statement-breakpoint
CREATE TRIGGER "entities_count_moved" AFTER UPDATE OF machine, state ON "tollgate"."entities"
  FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.machine IS DISTINCT FROM NEW.machine)
  EXECUTE FUNCTION "tollgate"."entities_count_moved"();
--> statement-breakpoint
CREATE TRIGGER "entities_count_truncated" AFTER TRUNCATE ON "tollgate"."entities"
  FOR EACH STATEMENT EXECUTE FUNCTION "tollgate"."entities_count_truncated"();
--> statement-breakpoint
-- The entities already there. After the triggers: creating them locked entities against writers (SHARE ROW
-- EXCLUSIVE) until this migration commits, so no write falls between this count and the first counted move.
INSERT INTO "tollgate"."state_counts" (machine, state, n)
  SELECT machine, state, count(*) FROM "tollgate"."entities" GROUP BY machine, state;
