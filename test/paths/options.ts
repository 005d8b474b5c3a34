/**
 * Path-test options for the shipped machines: each definition carries its own (`pathTesting`: inputs that reach
 * every branch, payloads that pass and fail guards, state identities that keep unbounded counters out of the
 * graph). Used by the vitest suites and by `tollgate test-paths <machine> --options test/paths/options.ts`, which
 * without --options uses the same defaults.
 */
import { machines } from '../../machines/index.ts';
import { pathTestDefaults, type PathTestOptions } from '../../src/testing/index.ts';

// The suites drive every transition (the definitions' defaults keep the CLI's one path per state).
export const pathTestOptions: Readonly<Record<string, readonly PathTestOptions[]>> = Object.fromEntries(
  Object.entries(machines).map(([name, definition]) => [name, pathTestDefaults(definition).map((v) => ({ ...v, paths: 'transitions' as const }))]),
);
