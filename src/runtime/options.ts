import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { MachineRegistry } from '../engine/definition.ts';
import { TollgateError } from '../errors.ts';
import type { PolicyVersions } from '../policy/policies.ts';
import type { InspectObserver } from './inspection.ts';
import type { Policy } from '../policy/policy.ts';
import { firstIssue } from '../zod-issue.ts';
import { schemaNamePattern } from '../store/sql-client.ts';

/** Where the entities live. */
export type DatabaseOptions =
  | {
      /** Postgres connection string (production). */
      readonly url: string;
      /**
       * The gate's connection pool size. Default 10; size it to the number of concurrent sends. A process that runs
       * sweepers or the feed opens up to 4 more connections, and one that runs the relay or effect workers up to 3
       * more: at most `maxConnections + 7` in all.
       */
      readonly maxConnections?: number;
    }
  | {
      /** Embedded PGlite data directory (zero set-up, one process). `memory://` for a throw-away database. */
      readonly dataDir: string;
    };

/** Options of `createTollgate`. */
export interface TollgateOptions<R extends MachineRegistry = MachineRegistry> {
  /** The registered machines by name (`machines/index.ts` exports them). */
  readonly machines: R;
  /** The database: `{ url }` for Postgres, `{ dataDir }` for embedded PGlite. */
  readonly database: DatabaseOptions;
  /** Postgres schema holding tollgate's tables. Default `tollgate`. */
  readonly schema?: string;
  /** Source of "now" for entry times, timer due times and rejections. Default: the system clock. */
  readonly clock?: Clock;
  /** Times a send re-reads and retries after losing a version race before `TG_VERSION_CONFLICT`. Default 5. */
  readonly maxConflictRetries?: number;
  /** Resolved snapshots kept in memory to skip the read on hot entities; 0 disables. Default 10,000. */
  readonly snapshotCacheSize?: number;
  /**
   * One policy for every machine that registers no `policies` (see policy.ts). Default: allow everything. With
   * `policies`, prefer registering versions: this one cannot be switched at run time.
   */
  readonly policy?: Policy;
  /**
   * Policy versions per machine (`{ subscription: [p20261101, p20261201] }`, oldest first). Which version applies
   * is a row in the database, switched at run time (`tollgate policy activate`) and applied by every process within
   * 1 s; a machine with no active version yet gets its newest. Default: none (docs/governance.md).
   */
  readonly policies?: PolicyVersions;
  /** How long a policy check may take before the event is refused with TG_POLICY_UNAVAILABLE. Default 2,000 ms. */
  readonly policyTimeoutMs?: number;
  /**
   * Write entities that a newer version of their machine wrote, instead of refusing them with
   * `TG_MACHINE_VERSION_AHEAD`. Default false: during a rolling deploy the older processes leave such entities to
   * the newer release. Set it (CLI: `TOLLGATE_ACCEPT_NEWER_MACHINE_VERSIONS=1`) only after rolling a release back,
   * for the entities the newer release touched: they are then written by the older machine, and any state, event
   * or timer only the newer release knows is refused or dropped as the older machine sees it.
   */
  readonly acceptNewerMachineVersions?: boolean;
  /**
   * An XState inspection observer (`createWebSocketInspector({ url }).inspect`, or a function of each event):
   * called after each commit of this process with `@xstate.actor` (first commit of an entity seen by this
   * process), `@xstate.event` and `@xstate.snapshot`, the actor's sessionId being `tollgate:<machine>:<id>`.
   * Default: none. See docs/inspector.md.
   */
  readonly inspect?: InspectObserver;
}

const optionsSchema = z.object({
  // Names and definitions are checked machine by machine (engine/check-machine.ts), with messages that say the rule.
  machines: z.record(z.string(), z.unknown()),
  database: z.union([
    z.object({ url: z.string().min(1), maxConnections: z.number().int().min(1).max(1000).optional() }).strict(),
    z.object({ dataDir: z.string().min(1) }).strict(),
  ]),
  schema: z.string().regex(schemaNamePattern, 'lower-case letters, digits and _').optional(),
  clock: z.object({ now: z.function() }).loose().optional(),
  maxConflictRetries: z.number().int().min(0).max(100).optional(),
  snapshotCacheSize: z.number().int().min(0).optional(),
  policy: z.object({ version: z.string(), check: z.function() }).loose().optional(),
  policies: z.record(z.string(), z.array(z.object({ version: z.string().min(1).max(100), check: z.function() }).loose()).min(1)).optional(),
  policyTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  acceptNewerMachineVersions: z.boolean().optional(),
  inspect: z.union([z.function(), z.object({}).loose()]).optional(),
}).strict(); // an unknown option is a typo (or an option of another release): refused, never ignored

/** Validates options once at start-up, failing with a message that names the bad field. */
export function validateOptions(options: TollgateOptions): void {
  const result = optionsSchema.safeParse(options);
  if (result.success) return;
  const { field, message } = firstIssue(result.error, '(options)');
  throw new TollgateError('TG_INVALID_OPTIONS', `createTollgate: option '${field}' is invalid: ${message}.`, {
    field,
  });
}
