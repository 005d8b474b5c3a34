// Shadow mode: judge a legacy system's writes against the machine before enforcing it (docs/adoption.md).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createTollgate, isTollgateError, type Observation } from '../src/index.ts';
import { machines } from '../machines/index.ts';

// The legacy billing service still writes subscriptions: the machine is registered in shadow mode.
const subscription = { ...machines.subscription, mode: 'shadow' as const };
const tg = await createTollgate({ machines: { subscription }, database: { dataDir: process.env.EXAMPLE_DATA_DIR ?? './.tollgate/shadow' } });
await tg.migrate();
const lines = (file: string) => createInterface({ input: createReadStream(file) });

// tollgate's mirror starts from the live entities, imported in the states they are in.
await tg.import('subscription', lines('examples/legacy-subscriptions.ndjson'));

// Each status change the legacy system makes is reported (here read from its log, the rows discover reads).
for await (const line of lines('examples/legacy-transitions.ndjson')) {
  const { entityId, ...change } = JSON.parse(line) as Observation & { entityId: string };
  const seen = await tg.observe('subscription', entityId, { ...change, key: `${entityId}@${String(change.at)}` });
  console.log(`${entityId} ${change.event}: ${seen.verdict}${seen.code ? ` (${seen.code})` : ''}`);
}
const report = await tg.shadowReport('subscription', { since: '2026-11-01T00:00:00Z' });
for (const l of report.lines) console.log(`${l.verdict} ${l.from} -${l.event}-> ${l.to}: ${l.count} (${l.exampleIds.join(', ')})`);

// While the legacy system is the writer, the gate applies nothing...
const code = (e: unknown) => console.log(isTollgateError(e) ? e.code : e);
await tg.send('subscription', 'legacy-2', { type: 'PAYMENT_FAILED' }).catch(code);
// ...and once the legacy write path is off, the switch (recorded) makes the gate enforce, from the mirrored states.
await tg.governance.setMode('subscription', 'enforce', { actor: 'ana', reason: 'shadow report reviewed' });
await tg.send('subscription', 'legacy-2', { type: 'PAYMENT_FAILED' }).catch(code);
console.log((await tg.send('subscription', 'legacy-3', { type: 'PAUSE' })).entity.state);
await tg.close();
