import type { EntityView } from '../../runtime/views.ts';
import { parse } from '../args.ts';
import { apiClient, clientFlags, clientFlagsHelp, entityPath } from '../client.ts';

const usage = 'tollgate get <machine> <id> [--url URL] [--key KEY]';

export const help = `${usage}

Prints the entity as JSON: value, state, context, version, stateEnteredAt, nextEvents.
${clientFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, clientFlags, { min: 2, max: 2, usage });
  const [machine, id] = positionals as [string, string];
  const entity = await apiClient(flags).request<EntityView>('GET', entityPath(machine, id));
  process.stdout.write(`${JSON.stringify(entity, null, 2)}\n`);
  return 0;
}
