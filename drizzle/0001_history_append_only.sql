-- The history is append-only: the database refuses to change or delete a committed transition.
CREATE FUNCTION "tollgate"."transitions_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'tollgate: transitions are append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "transitions_append_only" BEFORE UPDATE OR DELETE ON "tollgate"."transitions"
  FOR EACH ROW EXECUTE FUNCTION "tollgate"."transitions_append_only"();
