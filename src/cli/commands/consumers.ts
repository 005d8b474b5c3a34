import { consumerSpecOf, rewindTargetOf, toConsumerView, type ConsumerView } from '../../feed/consumer-spec.ts';
import { intFlag, parse, UsageError } from '../args.ts';
import { databaseFlags, databaseFlagsHelp, openRuntime } from '../runtime.ts';
import { portsOf } from '../../runtime/ports.ts';

const usage = `tollgate consumers add <name> (--webhook URL --secret S | --nats URL) [--machines a,b] [--events X,Y] [--states s] [--with-context] [--max-attempts N] [--from-beginning]
       tollgate consumers list [--json]
       tollgate consumers pause|resume|remove|redeliver <name>
       tollgate consumers rewind <name> --to <time|position|beginning>`;

export const help = `${usage}

Named, durable subscriptions to the lifecycle feed: every committed transition, delivered at least once to a
webhook (signed: docs/events.md) or to NATS JetStream (subject tollgate.<machine>.<event>, Nats-Msg-Id = the
transition id), each entity's events in seq order, by the feed that \`tollgate worker\` and \`tollgate dev\` run.
Works on the database directly (DATABASE_URL); the same operations are under /v1/consumers for admin keys.
  add             a new consumer; it starts with what commits from now on (--from-beginning: the whole history)
    --webhook URL     POST each event here, signed with --secret (HMAC-SHA256)
    --nats URL        nats://host:4222 (?stream=TOLLGATE&prefix=tollgate to change the stream and subject prefix)
    --machines a,b    only these machines;  --events X,Y  only these event types
    --states s,t      only transitions into or out of these states (or states inside them)
    --with-context    add the machine's context after the transition to each event
    --max-attempts N  attempts before an event is dead-lettered (default 10; backoff 0.5 s doubling to 60 s)
  list            each consumer: sink, status, position, transitions behind, lag, delivered, retried, dead letters
  pause, resume   stop and restart deliveries (the cursor stays)
  rewind          deliver again from a time (ISO 8601), a position (as list shows it) or the beginning
  remove          delete the consumer and its dead letters
  redeliver       deliver the consumer's dead letters again, each entity's in seq order
${databaseFlagsHelp.replace('--machines MODULE   module', '--machines-module M module')}`;

const flags = {
  ...Object.fromEntries(Object.entries(databaseFlags).filter(([k]) => k !== 'machines')),
  'machines-module': { type: 'string' },
  webhook: { type: 'string' },
  secret: { type: 'string' },
  nats: { type: 'string' },
  machines: { type: 'string' },
  events: { type: 'string' },
  states: { type: 'string' },
  'with-context': { type: 'boolean' },
  'max-attempts': { type: 'string' },
  'from-beginning': { type: 'boolean' },
  to: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter(Boolean);

export async function run(args: string[]): Promise<number> {
  const { flags: f, positionals } = parse(args, flags, { min: 1, max: 2, usage });
  const [action, name] = positionals as [string, string | undefined];
  const needsName = action !== 'list';
  if (!['add', 'list', 'pause', 'resume', 'rewind', 'remove', 'redeliver'].includes(action)) throw new UsageError(`unknown action '${action}'. Usage: ${usage}`);
  if (needsName && name === undefined) throw new UsageError(`consumers ${action} needs a consumer name. Usage: ${usage}`);
  const { tg } = await openRuntime({ ...f, machines: f['machines-module'] } as Parameters<typeof openRuntime>[0]);
  const store = portsOf(tg).consumerStore;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    await tg.migrate();
    switch (action) {
      case 'add': {
        const spec = consumerSpecOf(
          {
            name: name as string,
            webhook: f.webhook,
            secret: f.secret,
            nats: f.nats,
            machines: list(f.machines),
            events: list(f.events),
            states: list(f.states),
            withContext: f['with-context'] ?? false,
            maxAttempts: intFlag(f['max-attempts'], 'max-attempts', 10, 1, 1000),
          },
          Object.keys(tg.machines),
        );
        const row = await store.add(spec, f['from-beginning'] ? 'beginning' : 'now');
        out(`consumer ${row.name} added: ${row.sink} ${row.target}, from position ${row.cursor_xid}`);
        return 0;
      }
      case 'list': {
        const views = (await store.list()).map(toConsumerView);
        if (f.json) out(JSON.stringify(views, null, 2));
        else out(table(views));
        return 0;
      }
      case 'pause':
      case 'resume':
        await store.setStatus(name as string, action === 'pause' ? 'paused' : 'active');
        out(`consumer ${name} ${action === 'pause' ? 'paused' : 'resumed'}`);
        return 0;
      case 'rewind': {
        if (f.to === undefined) throw new UsageError('consumers rewind needs --to <time|position|beginning>.');
        const cursor = await store.rewind(name as string, rewindTargetOf(f.to));
        out(`consumer ${name} rewound to position ${cursor.xid}`);
        return 0;
      }
      case 'remove':
        await store.remove(name as string);
        out(`consumer ${name} removed`);
        return 0;
      default: {
        const n = await store.redeliver(name as string);
        out(`consumer ${name}: ${n} dead letter(s) marked for redelivery`);
        return 0;
      }
    }
  } finally {
    await tg.close();
  }
}

function table(views: readonly ConsumerView[]): string {
  if (views.length === 0) return 'no consumers (add one with `tollgate consumers add`)';
  const rows = views.map((v) => [
    v.name,
    v.sink,
    v.status,
    v.position,
    String(v.behind),
    `${v.lagSeconds}s`,
    String(v.delivered),
    String(v.retried),
    `${v.deadLettered}/${v.deadLetters}`,
    v.leaseOwner ?? '-',
    v.target ?? '(in process)',
  ]);
  const head = ['NAME', 'SINK', 'STATUS', 'POSITION', 'BEHIND', 'LAG', 'DELIVERED', 'RETRIED', 'DEAD(ALL/WAITING)', 'DELIVERED BY', 'TARGET'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')).join('\n');
}
