import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { quoteIdent, type SqlClient } from './sql-client.ts';

const migrationsDir = fileURLToPath(new URL('../../drizzle/', import.meta.url));
const generatedSchema = 'tollgate';

interface JournalEntry {
  readonly idx: number;
  readonly tag: string;
}

/** One migration from drizzle-kit's folder, with its SQL rewritten for the configured schema. */
export interface Migration {
  readonly tag: string;
  readonly hash: string;
  readonly statements: readonly string[];
}

/** The migrations drizzle-kit generated (drizzle/), in order, for schema `schemaName`. */
export function loadMigrations(schemaName: string): Migration[] {
  const journal = JSON.parse(readFileSync(`${migrationsDir}meta/_journal.json`, 'utf8')) as { entries: JournalEntry[] };
  const target = quoteIdent(schemaName);
  return [...journal.entries]
    .sort((a, b) => a.idx - b.idx)
    .map(({ tag }) => {
      const text = readFileSync(`${migrationsDir}${tag}.sql`, 'utf8');
      const statements = text
        .split('--> statement-breakpoint')
        .map((s) => s.replaceAll(`"${generatedSchema}"`, target).trim())
        .filter((s) => s.length > 0);
      return { tag, hash: createHash('sha256').update(text).digest('hex'), statements };
    });
}

/**
 * Applies pending migrations to schema `schemaName`, each in its own transaction, recording them in
 * `<schema>.__migrations`. drizzle's own migrators hard-wire the schema name written in the SQL, so tollgate
 * applies drizzle-kit's files itself: one folder, both drivers, any schema name. Concurrent callers on Postgres
 * serialize on an advisory lock; a migration already applied is skipped, one whose file changed is refused.
 *
 * @returns the tags applied by this call.
 */
export async function migrate(client: SqlClient, schemaName: string): Promise<string[]> {
  const schema = quoteIdent(schemaName);
  const migrations = loadMigrations(schemaName);
  const applied: string[] = [];
  await client.transaction(async (tx) => {
    // One lock per schema name: two processes migrating at once take turns.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tollgate.migrate.${schemaName}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.__migrations (tag text PRIMARY KEY, hash text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Map(
      (await tx.query<{ tag: string; hash: string }>(`SELECT tag, hash FROM ${schema}.__migrations`)).map((r) => [r.tag, r.hash]),
    );
    for (const migration of migrations) {
      const hash = done.get(migration.tag);
      if (hash !== undefined) {
        if (hash !== migration.hash) {
          throw new Error(
            `Migration ${migration.tag} was applied to schema ${schemaName} with different content. Migrations are ` +
              `immutable once released: add a new one instead of editing it.`,
          );
        }
        continue;
      }
      for (const statement of migration.statements) {
        // The generated first migration creates the schema, which we already made so the journal table fits.
        if (/^CREATE SCHEMA\b/i.test(statement)) continue;
        await tx.query(statement);
      }
      await tx.query(`INSERT INTO ${schema}.__migrations (tag, hash) VALUES ($1, $2)`, [migration.tag, migration.hash]);
      applied.push(migration.tag);
    }
  });
  if (applied.includes(dropDemoTables)) await warnKeptDemoTables(client, schemaName);
  return applied;
}

// The migration that removes the demo's tables when they are empty (the demo handlers now create their own).
const dropDemoTables = '0009_drop_empty_demo_tables';

/** Says which demo tables that migration kept because they had rows (its RAISE WARNING reaches no client). */
async function warnKeptDemoTables(client: SqlClient, schemaName: string): Promise<void> {
  for (const table of ['demo_charges', 'demo_emails']) {
    const [row] = await client.query<{ kept: string | null }>('SELECT to_regclass($1)::text AS kept', [`${quoteIdent(schemaName)}.${table}`]);
    if (row?.kept) {
      process.emitWarning(`tollgate migrate kept ${row.kept}: it has rows. The demo handlers now create their own tables; drop it once you no longer need them.`, { code: 'TOLLGATE_DEMO_TABLE_KEPT' });
    }
  }
}
