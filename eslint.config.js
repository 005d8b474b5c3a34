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
);
