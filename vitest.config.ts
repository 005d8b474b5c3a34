import { defineConfig } from 'vitest/config';
import { SlowestFirstSequencer } from './test/support/sequencer.ts';

// Two cores: run two test files at a time. Each file gets its own database (test/support/databases.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
