// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    // Core code reads time only through the injected clock; programs (CLI, demo) and tests may use the wall clock.
    files: ['src/**/*.ts'],
    ignores: ['src/clock.ts', 'src/cli/**', 'src/demo/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'Use the injected clock (src/clock.ts), never Date.now(), so time is testable.',
        },
      ],
    },
  },
  // Import direction (docs/architecture.md): engine and store import nothing above them; only src/runtime/ reaches
  // into the runtime's internals (others get a port: src/runtime/ports.ts); tests and benches alone use test-access. Tests may
  // import anything: they test the internals too. Later blocks win for the files they match: engine and store last.
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
