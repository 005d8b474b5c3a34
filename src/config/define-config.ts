import type { MachineRegistry } from '../engine/definition.ts';
import type { ApiKeyEntry } from '../http/auth.ts';
import type { PolicyVersions } from '../policy/policies.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import type { DatabaseOptions } from '../runtime/options.ts';

/** Registers an app's effect handlers on a runtime (`tg.effect(...)` for each effect type). */
export type RegisterHandlers<R extends MachineRegistry = MachineRegistry> = (tg: Tollgate<R>) => void | Promise<void>;

/**
 * An app's `tollgate.config.ts` (or `.js`, `.mjs`, `.json`): what every `tollgate` command reads. Flags and
 * environment variables override it. In a `.json` config, `machines` and `handlers` are module paths relative to
 * the config file.
 */
export interface TollgateConfig<R extends MachineRegistry = MachineRegistry> {
  /** The machines by name, or a module path exporting `machines`. Required. */
  readonly machines: R | string;
  /** Policy versions per machine (see docs: governance), when `machines` is not a module exporting them. Default: none. */
  readonly policies?: PolicyVersions;
  /** Registers the effect handlers, or a module path exporting `registerHandlers(tg)`. Default: none. */
  readonly handlers?: RegisterHandlers<R> | string;
  /** The database. Overridden by `--database-url` / `DATABASE_URL` and `--data-dir`. Default: `tollgate dev` uses `./.tollgate`. */
  readonly database?: DatabaseOptions;
  /** Redis URL for the BullMQ transport. Overridden by `--redis-url` / `REDIS_URL`. Default: none. */
  readonly redis?: string;
  /** Postgres schema of tollgate's tables. Overridden by `--schema` / `TOLLGATE_SCHEMA`. Default `tollgate`. */
  readonly schema?: string;
  /** BullMQ key prefix. Overridden by `--queue-prefix` / `TOLLGATE_QUEUE_PREFIX`. Default `tollgate`. */
  readonly queuePrefix?: string;
  /** API keys (entries as `tollgate keys new` prints them) or a path to a key file. Overridden by `--keys-file` / `TOLLGATE_API_KEYS`. */
  readonly keys?: readonly ApiKeyEntry[] | string;
  /** Effect types the workers may start without a handler (their effects wait). Default: none. */
  readonly allowMissingHandlers?: readonly string[];
  /** Port of `tollgate dev` and `tollgate serve`. Overridden by `--port`. Default 3000. */
  readonly port?: number;
}

/**
 * Identity function that types an app's `tollgate.config.ts`: the handlers see the app's machines.
 *
 * @example
 * // tollgate.config.ts
 * import { defineConfig } from 'tollgate';
 * import { machines } from './machines/index.ts';
 * import { registerHandlers } from './handlers.ts';
 * export default defineConfig({ machines, handlers: registerHandlers, database: { dataDir: './.tollgate' } });
 */
export function defineConfig<R extends MachineRegistry>(config: TollgateConfig<R>): TollgateConfig<R> {
  return config;
}
