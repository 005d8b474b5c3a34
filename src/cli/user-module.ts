import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TsxApi from 'tsx/esm/api';
import { UsageError } from './args.ts';

const typeScript = /\.[cm]?tsx?$/;
let typeScriptLoader: Promise<void> | undefined;

/**
 * Imports one of the app's own modules (config, machines, handlers). A `.ts` module needs tsx, an optional peer
 * dependency: it is registered on first use, so tollgate itself never runs through it. When tollgate runs from
 * its own `.ts` sources (its repository, vitest), TypeScript already loads and nothing is registered.
 */
export async function importUserModule(path: string, base = process.cwd()): Promise<Record<string, unknown>> {
  const file = isAbsolute(path) ? path : resolve(base, path);
  if (typeScript.test(file) && !import.meta.url.endsWith('.ts')) {
    typeScriptLoader ??= registerTsx(path);
    await typeScriptLoader;
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

async function registerTsx(path: string): Promise<void> {
  let api: typeof TsxApi;
  try {
    api = await import('tsx/esm/api');
  } catch {
    typeScriptLoader = undefined;
    throw new UsageError(`${path} is TypeScript: loading it needs tsx in your app (npm install --save-dev tsx), or write it as .js / .mjs.`);
  }
  api.register();
}
