/**
 * The text of migration `drizzle/0007_legality_triggers.sql` (hand-written: drizzle-kit does not generate
 * triggers). `test/governance/legality.test.ts` checks the file still equals this text, so the SQL has one home
 * that can be read and re-created. Schema `"tollgate"` is rewritten by migrate.ts like every migration.
 *
 * Only the gate writes lifecycle state. The gate's commit statement marks itself with a transaction-local setting
 * (`set_config('tollgate.gate', 'on', true)` inside the statement, store/commit.ts); a write of an entity's
 * identity, state, snapshot or versions without it is refused, naming the entity and the proper way. This guards
 * against writers that bypass the gate by mistake (psql, admin tools, migration scripts), not against a database
 * owner set on it (who can drop the trigger).
 *
 * The override, for a person repairing data: `SET LOCAL tollgate.override = '<reason>'` in a transaction lets an
 * UPDATE through to a state the machine can reach from the current one in one event (`legal_transitions`), or to
 * any state with `SET LOCAL tollgate.override_illegal = on` too. The trigger bumps the version (so the gate's
 * optimistic lock sees the change), writes an `overrides` row (database user, reason, before, after) and a
 * `$override` history row, so the history stays complete.
 */
/** The event type of the history row an override writes (`{ type: '$override', reason, illegal }`, by the trigger below). */
export const overrideEventType = '$override';

export const legalityTriggersSql = `-- Only the gate writes lifecycle state (src/store/legality-sql.ts holds this text and says why).
CREATE FUNCTION "tollgate"."entities_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ref text;
  reason text;
  forced boolean;
  legal boolean;
BEGIN
  IF current_setting('tollgate.gate', true) = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.machine = OLD.machine AND NEW.id = OLD.id AND NEW.state = OLD.state
     AND NEW.snapshot = OLD.snapshot AND NEW.version = OLD.version AND NEW.machine_version = OLD.machine_version THEN
    RETURN NEW;
  END IF;
  ref := CASE WHEN TG_OP = 'INSERT' THEN NEW.machine || '/' || NEW.id ELSE OLD.machine || '/' || OLD.id END;
  reason := nullif(current_setting('tollgate.override', true), '');
  IF TG_OP <> 'UPDATE' OR reason IS NULL OR NEW.machine <> OLD.machine OR NEW.id <> OLD.id THEN
    RAISE EXCEPTION 'tollgate: % of entity % refused: only the gate writes lifecycle state (its state, snapshot and versions).', TG_OP, ref
      USING ERRCODE = 'restrict_violation',
        HINT = 'Send the entity an event (tollgate send), or repair it with an audited override: tollgate override, or BEGIN; SET LOCAL tollgate.override = ''<reason>''; UPDATE ...; COMMIT.';
  END IF;
  forced := coalesce(current_setting('tollgate.override_illegal', true), '') IN ('on', 'true', '1', 'yes');
  legal := NEW.state = OLD.state OR EXISTS (
    SELECT 1 FROM "tollgate".legal_transitions l
    WHERE l.machine = OLD.machine AND l.machine_version = NEW.machine_version AND l.from_state = OLD.state AND l.to_state = NEW.state);
  IF NOT legal AND NOT forced THEN
    RAISE EXCEPTION 'tollgate: override of entity % from ''%'' to ''%'' refused: no event of machine % version % leads there in one step.', ref, OLD.state, NEW.state, OLD.machine, NEW.machine_version
      USING ERRCODE = 'restrict_violation',
        HINT = 'Override to a state one event reaches, or also SET LOCAL tollgate.override_illegal = on (audited as illegal).';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  IF NEW.state <> OLD.state THEN NEW.state_entered_at := now(); END IF;
  INSERT INTO "tollgate".overrides (machine, entity_id, db_user, reason, illegal, before, after, at)
  VALUES (OLD.machine, OLD.id, current_user, reason, NOT legal,
    jsonb_build_object('state', OLD.state, 'version', OLD.version, 'machineVersion', OLD.machine_version, 'snapshot', OLD.snapshot),
    jsonb_build_object('state', NEW.state, 'version', NEW.version, 'machineVersion', NEW.machine_version, 'snapshot', NEW.snapshot),
    now());
  INSERT INTO "tollgate".transitions (id, machine, entity_id, seq, event_type, event, from_state, to_state, snapshot,
    state_entered_at, idempotency_key, fingerprint, machine_version, policy_version, actor, created_at)
  VALUES (gen_random_uuid(), OLD.machine, OLD.id, NEW.version, '$override',
    jsonb_build_object('type', '$override', 'reason', reason, 'illegal', NOT legal),
    OLD.state, NEW.state, NEW.snapshot, NEW.state_entered_at, NULL, '$override', NEW.machine_version, NULL, current_user, now());
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "entities_guard" BEFORE INSERT OR UPDATE OR DELETE ON "tollgate"."entities"
  FOR EACH ROW EXECUTE FUNCTION "tollgate"."entities_guard"();
`;
