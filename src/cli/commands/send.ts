import type { SendResult } from '../../runtime/gate.ts';
import { jsonArg, parse } from '../args.ts';
import { apiClient, clientFlags, clientFlagsHelp, entityPath } from '../client.ts';

const usage = 'tollgate send <machine> <id> <event-json> [--idempotency-key K] [--url URL] [--key KEY]';

export const help = `${usage}

Sends one event through the gate of a running server and prints the entity's new state.
  <event-json>               the event, e.g. '{"type":"UPGRADE","paymentMethodId":"pm_1"}'
  --idempotency-key K        makes the send safe to retry: a retry answers the first commit
  --json                     print the whole answer as JSON
${clientFlagsHelp}

Exit 1 with the code when the gate refuses (TG_ILLEGAL_TRANSITION, TG_GUARD_REJECTED, ...).`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { ...clientFlags, 'idempotency-key': { type: 'string' }, json: { type: 'boolean' } }, { min: 3, max: 3, usage });
  const [machine, id, eventJson] = positionals as [string, string, string];
  const event = jsonArg(eventJson, '<event-json>');
  const key = flags['idempotency-key'];
  const result = await apiClient(flags).request<SendResult>('POST', `${entityPath(machine, id)}/events`, event, key ? { 'idempotency-key': key } : {});
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const t = result.transition;
  process.stdout.write(
    `${machine}/${id}: ${t.eventType} ${t.fromState ?? '(new)'} -> ${t.toState} (version ${result.entity.version}${result.replayed ? ', replayed' : ''})\n` +
      `next events: ${result.entity.nextEvents.join(', ') || '(none: final)'}\n`,
  );
  return 0;
}
