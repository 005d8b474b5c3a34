import type { CreateResult } from '../../runtime/create-entity.ts';
import { jsonArg, parse } from '../args.ts';
import { apiClient, clientFlags, clientFlagsHelp } from '../client.ts';

const usage = "tollgate create <machine> <id> [<input-json>] [--idempotency-key K] [--url URL] [--key KEY]";

export const help = `${usage}

Creates an entity in its machine's initial state through a running server.
  <input-json>               the machine's input, e.g. '{"customerId":"c-1","plan":"pro"}' (default {})
  --idempotency-key K        makes the create safe to retry
  --json                     print the entity as JSON
${clientFlagsHelp}`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...clientFlags, 'idempotency-key': { type: 'string' }, json: { type: 'boolean' } }, { min: 2, max: 3, usage });
  const [machine, id, inputJson] = positionals as [string, string, string | undefined];
  const input = inputJson === undefined ? {} : jsonArg(inputJson, '<input-json>');
  const key = flags['idempotency-key'];
  const entity = await apiClient(flags).request<CreateResult>('POST', `/v1/entities/${encodeURIComponent(machine)}`, { id, input }, key ? { 'idempotency-key': key } : {});
  if (flags.json) process.stdout.write(`${JSON.stringify(entity, null, 2)}\n`);
  else process.stdout.write(`${machine}/${id}: created in ${entity.state}${entity.replayed ? ' (replayed)' : ''}\nnext events: ${entity.nextEvents.join(', ')}\n`);
  return 0;
}
