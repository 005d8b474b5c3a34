-- The demo's tables leave tollgate's schema: the demo handlers (machines/demo-handlers.ts) create their own tables
-- when they are registered, and `tollgate migrate` creates none. Installations that have them lose them here only
-- when they are empty; tables with rows are kept, with a warning (migrate.ts repeats it on stderr).
DO $$
BEGIN
  IF to_regclass('"tollgate"."demo_charges"') IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM "tollgate"."demo_charges") THEN
      RAISE WARNING 'kept "tollgate"."demo_charges": it has rows (drop it once you no longer need them)';
    ELSE
      DROP TABLE "tollgate"."demo_charges";
    END IF;
  END IF;
  IF to_regclass('"tollgate"."demo_emails"') IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM "tollgate"."demo_emails") THEN
      RAISE WARNING 'kept "tollgate"."demo_emails": it has rows (drop it once you no longer need them)';
    ELSE
      DROP TABLE "tollgate"."demo_emails";
    END IF;
  END IF;
END $$;
