import { TollgateError } from '../errors.ts';
import { pathsOfState } from './machine-stats.ts';
import { checkIdentifier } from './identifier.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';
import { storedEntityView } from './load.ts';
import type { EntityView } from './views.ts';

/** One page of a machine's entities. */
export interface EntityPage {
  readonly items: EntityView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface EntityListOptions {
  /** A state path: matches entities in that state or inside it (`paused` matches `paused.idle`). */
  readonly state?: string;
  readonly limit: number;
  readonly cursor?: string;
  /** Only entities whose id starts with this. */
  readonly idPrefix?: string;
}

/**
 * The entities of `machine`, ordered by id, keyset-paginated (the cursor is the last id of the page, encoded).
 * `entities.state` holds sorted leaf paths joined by commas (`a.x,b.y` for parallel states), so a state matches
 * when one of its leaf paths equals it or is inside it (`pathsOfState`).
 */
export async function listEntities(ctx: RuntimeContext, machine: string, options: EntityListOptions): Promise<EntityPage> {
  const definition = machineOf(ctx, machine);
  const after = options.cursor === undefined ? null : decodeCursor(options.cursor, machine);
  let states: string[] | null = null;
  if (options.state !== undefined) {
    // The stored state strings in that state, from the kept counts (store/state-counts.ts): a state nobody is in
    // answers without reading entities, and the others are an index condition, not a pattern tried on every row
    // (measured at 1,000,000 entities: an empty state took 1.6 s).
    const wanted = options.state;
    states = (await ctx.queries.stateCounts(machine)).map((r) => r.state).filter((stored) => pathsOfState(stored).has(wanted));
    if (states.length === 0) return { items: [], nextCursor: null };
  }
  const rows = await ctx.queries.entityPage(machine, { states, afterId: after, limit: options.limit + 1, idPrefix: options.idPrefix ?? null });
  const page = rows.slice(0, options.limit);
  // An older version's entity is shown migrated, as `get` shows it.
  const items = page.map((row) => storedEntityView(definition, machine, row.id, row));
  const last = page.at(-1);
  return { items, nextCursor: rows.length > options.limit && last ? encodeCursor(last.id) : null };
}

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, machine: string): string {
  const id = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  try {
    return checkIdentifier('entity id', id, machine);
  } catch {
    throw new TollgateError('TG_INVALID_ARGUMENT', `The cursor '${cursor.slice(0, 40)}' is not one this API returned; pass nextCursor unchanged.`, {
      argument: 'cursor',
    });
  }
}
