import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { TollgateConfig } from '../config/define-config.ts';
import type { MachineRegistry } from '../engine/definition.ts';
import type { PolicyVersions } from '../policy/policies.ts';
import { UsageError } from './args.ts';
import { importUserModule } from './user-module.ts';
import { firstIssue } from '../zod-issue.ts';

/** The names looked for in the working directory, in this order. */
export const configNames = ['tollgate.config.ts', 'tollgate.config.mts', 'tollgate.config.js', 'tollgate.config.mjs', 'tollgate.config.json'] as const;

/** A loaded config: its file, and module paths in it resolved against the file's folder. */
export interface LoadedConfig {
  readonly file: string;
  readonly dir: string;
  readonly config: TollgateConfig;
}

const configSchema = z.looseObject({
  machines: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  handlers: z.union([z.string().min(1), z.function()]).optional(),
  database: z.union([z.strictObject({ url: z.string().min(1), maxConnections: z.number().int().min(1).optional() }), z.strictObject({ dataDir: z.string().min(1) })]).optional(),
  redis: z.string().min(1).optional(),
  schema: z.string().min(1).optional(),
  queuePrefix: z.string().min(1).optional(),
  keys: z.union([z.string().min(1), z.array(z.unknown())]).optional(),
  policies: z.record(z.string(), z.array(z.unknown())).optional(),
  allowMissingHandlers: z.array(z.string()).optional(),
  port: z.number().int().min(0).max(65535).optional(),
});

let explicitPath: string | undefined;
let loaded: Promise<LoadedConfig | undefined> | undefined;

/** `--config FILE` (taken out of the arguments by main.ts before the command parses them). */
export function useConfigFile(path: string | undefined): void {
  explicitPath = path;
  loaded = undefined;
}

/** The app's config: `--config FILE`, else the first of `configNames` in the working directory, else undefined. */
export function appConfig(): Promise<LoadedConfig | undefined> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<LoadedConfig | undefined> {
  const file = explicitPath !== undefined ? resolve(explicitPath) : configNames.map((name) => resolve(name)).find((path) => existsSync(path));
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new UsageError(`--config ${explicitPath}: no such file.`);
  let raw: unknown;
  if (file.endsWith('.json')) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`);
    }
  } else {
    const module = await importUserModule(file);
    raw = module.default ?? module.config;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, '(default export)');
    throw new UsageError(
      `${file}: '${field}' is invalid: ${message}. ` +
        `Export defineConfig({ machines, handlers, ... }) from 'tollgate' as the default.`,
    );
  }
  return { file, dir: dirname(file), config: raw as TollgateConfig };
}

/** What to say when no machines are configured (exit 2). */
export const noMachinesHelp =
  'no machines: this command needs your machines. Add a tollgate.config.ts (or .js/.mjs/.json) exporting ' +
  'defineConfig({ machines }) in this directory (`npx tollgate init` writes one), or pass --config FILE or --machines MODULE.';

/** The machines a module exports as `machines`, and its policy versions (`policies`) if it exports them. */
export async function machinesOfModule(path: string, base?: string): Promise<{ machines: MachineRegistry; policies?: PolicyVersions }> {
  const module = await importUserModule(path, base);
  const { machines, policies } = module;
  if (machines === null || typeof machines !== 'object') throw new UsageError(`${path} does not export \`machines\`.`);
  return { machines: machines as MachineRegistry, ...(policies ? { policies: policies as PolicyVersions } : {}) };
}
