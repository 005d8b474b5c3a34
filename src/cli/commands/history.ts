import type { EffectView, EntityView, TransitionView } from '../../runtime/views.ts';
import { parse } from '../args.ts';
import { apiClient, clientFlags, clientFlagsHelp, entityPath } from '../client.ts';
import { formatTimeline } from '../timeline.ts';

const usage = 'tollgate history <machine> <id> [--json] [--url URL] [--key KEY]';

export const help = `${usage}

Prints the entity's transitions, oldest first, with the effects each one produced and their status.
  --json              print {entity, transitions, effects} as JSON
${clientFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...clientFlags, json: { type: 'boolean' } }, { min: 2, max: 2, usage });
  const [machine, id] = positionals as [string, string];
  const client = apiClient(flags);
  const path = entityPath(machine, id);
  const entity = await client.request<EntityView>('GET', path);
  const transitions: TransitionView[] = [];
  for (let after: number | null = 0; after !== null; ) {
    const page: { items: TransitionView[]; nextAfterSeq: number | null } = await client.request('GET', `${path}/transitions?afterSeq=${after}&limit=1000`);
    transitions.push(...page.items);
    after = page.nextAfterSeq;
  }
  const { items: effects } = await client.request<{ items: EffectView[] }>('GET', `${path}/effects`);
  const output = flags.json ? JSON.stringify({ entity, transitions, effects }, null, 2) : formatTimeline(entity, transitions, effects);
  process.stdout.write(`${output}\n`);
  return 0;
}
