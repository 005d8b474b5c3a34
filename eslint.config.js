// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const wallClock = {
  selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
  message: 'Use the injected clock (src/clock.ts), never Date.now(), so time is testable.',
};
const sqlMessage = 'SQL lives in src/store/: call a named function of a store module (through portsOf(tg) or the database port), not the driver.';
const drivers = String.raw`/^(postgres|drizzle-orm|@electric-sql\/pglite)(\/|$)/`;
const sqlOutsideStore = [
  { selector: `ImportDeclaration[source.value=${drivers}]`, message: sqlMessage },
  { selector: `ImportExpression[source.value=${drivers}]`, message: sqlMessage },
  { selector: "CallExpression[callee.property.name=/^(query|unsafe|transaction)$/]", message: sqlMessage },
  // A client's exec (migrations), not a RegExp's.
  { selector: "CallExpression[callee.property.name='exec']:not([callee.object.regex])", message: sqlMessage },
  { selector: "TaggedTemplateExpression[tag.name=/^(sql|tx|db)$/]", message: sqlMessage },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'drizzle/**', 'coverage/**', '.tollgate/**', '.scratch/**', 'src/http/inspector-assets/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // One home for SQL (docs/architecture.md): outside src/store/ no file imports a database driver or query builder,
  // runs a statement (`.query(`, `.exec(` on a client, `.unsafe(`, `.transaction(`) or writes a tagged `sql`/`tx`/`db`
  // template; it calls a named function of a src/store/ module. Core code reads time only through the injected
  // clock; programs (CLI, demo) and tests may use the wall clock. Later blocks win for the files they match, so each
  // block lists every selector its files need.
  {
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    ignores: ['src/store/**'],
    rules: { 'no-restricted-syntax': ['error', ...sqlOutsideStore] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/clock.ts', 'src/cli/**', 'src/demo/**', 'src/store/**'],
    rules: { 'no-restricted-syntax': ['error', wallClock, ...sqlOutsideStore] },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', wallClock] },
  },
  // Import direction (docs/architecture.md): engine and store import nothing above them, policy/observe/introspect
  // nothing of the runtime or above; only src/runtime/ reaches into the runtime's internals (others get a port:
  // src/runtime/ports.ts); tests and benches alone use test-access. Tests may import anything: they test the internals too. Later blocks win for the files they match: engine and store last.
  {
    files: ['src/**/*.ts', 'workers/**/*.ts', 'machines/**/*.ts'],
    ignores: ['src/runtime/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: String.raw`runtime/(runtime-context|load|admission|snapshot-cache|commit-feed|live-hub|inspection|entity-list|dry-run|migrate-entities)\.ts$`, allowTypeImports: true, message: "A runtime internal: use the runtime's port (src/runtime/ports.ts) or its public API." },
        { regex: String.raw`runtime/gate\.ts$`, allowTypeImports: true, message: "The gate is the runtime's: send through tg.send or the port's send (src/runtime/ports.ts)." },
        { regex: String.raw`runtime/ports\.ts$`, importNames: ['contextOf'], message: "The runtime's context stays in src/runtime/: use portsOf(tg)." },
        { regex: String.raw`runtime/test-access\.ts$`, message: 'test-access is for test/ and bench/ only.' },
      ] }],
    },
  },
  {
    files: ['bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: String.raw`runtime/(runtime-context|load|admission|snapshot-cache|commit-feed|live-hub|inspection|entity-list|dry-run|migrate-entities)\.ts$`, allowTypeImports: true, message: "A runtime internal: use the runtime's port (src/runtime/ports.ts) or its public API." },
        { regex: String.raw`runtime/gate\.ts$`, allowTypeImports: true, message: "The gate is the runtime's: send through tg.send or the port's send (src/runtime/ports.ts)." },
        { regex: String.raw`runtime/ports\.ts$`, importNames: ['contextOf'], message: "The runtime's context stays in src/runtime/: use portsOf(tg)." },
      ] }],
    },
  },
  {
    files: ['src/policy/**/*.ts', 'src/observe/**/*.ts', 'src/introspect/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: String.raw`(^|/)(runtime|effects|outbox|jobs|timers|feed|http|cli|testing|demo|audit|replay|evolution|discover|config|workers|machines)/`, message: 'Rules and signals (policy, observe, introspect) import only base modules, the engine, the store and each other: shared types live down here, not in src/runtime/.' }] }],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: String.raw`^\.\./(?!errors\.ts$|zod-issue\.ts$)`, message: 'The engine is pure: it imports only errors.ts and zod-issue.ts (and xstate, zod).' }] }],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: String.raw`(^|/)(engine|runtime|policy|observe|effects|outbox|jobs|timers|feed|http|cli|testing|demo|audit|replay|evolution|discover|config|introspect|workers|machines)/`, message: 'The store imports nothing above it: only its own modules, errors.ts and the drivers.' }] }],
    },
  },
);
