// Import live subscriptions from a legacy export, each in the state it is in (docs/adoption.md).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createTollgate } from '../src/index.ts';
import { machines } from '../machines/index.ts';

const tg = await createTollgate({ machines, database: { dataDir: process.env.EXAMPLE_DATA_DIR ?? './.tollgate' } });
await tg.migrate();

const lines = createInterface({ input: createReadStream('examples/legacy-subscriptions.ndjson') });
const report = await tg.import('subscription', lines, { maxErrors: 10 });
console.log(`imported ${report.imported}, skipped ${report.skipped}, refused ${report.failed}`);
for (const e of report.errors) console.log(`line ${e.line}: ${e.code}`);

// The grace timer counts from when the legacy system put legacy-2 in grace, not from the import.
const [timer] = await tg.timers('subscription', 'legacy-2');
console.log((await tg.get('subscription', 'legacy-2')).state, timer?.sendId, timer?.dueAt);
// From here on the gate enforces the machine: a dunning charge that fails in grace is illegal.
await tg.send('subscription', 'legacy-2', { type: 'PAYMENT_FAILED' }).catch((e: { code: string }) => console.log(e.code));
await tg.close();
