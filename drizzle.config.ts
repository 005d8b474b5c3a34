import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the default schema name (`tollgate`); `migrate()` rewrites it when another
// schema is configured. CI regenerates and fails on any diff (scripts/check-migrations.sh).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema.ts',
  out: './drizzle',
});
