/**
 * Where a send's Node CPU goes: the transitions bench's tollgate side (RENEW with an idempotency key on
 * BENCH_ENTITIES cached subscriptions, concurrency BENCH_CONCURRENCY) under V8's sampling profiler, the samples'
 * self time summed by what they belong to (XState, the postgres driver, tollgate's engine, gate, store, JSON, GC,
 * ...). Prints the table and the top functions; `--out FILE` keeps the .cpuprofile for Chrome's DevTools.
 * Run: npx tsx bench/profile-send.ts [--out send.cpuprofile]. Env: BENCH_ENTITIES (10000), BENCH_OPS (20000),
 * BENCH_CONCURRENCY (32).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { createTollgate } from '../src/index.ts';
import { machines } from '../machines/index.ts';
import { measure, printTable, scratchDatabase } from './support.ts';

const entities = Number(process.env.BENCH_ENTITIES ?? 10_000);
const ops = Number(process.env.BENCH_OPS ?? 20_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? process.argv[outIndex + 1] : undefined;

/** What a sample's function belongs to, from its script URL and name. */
function bucketOf(frame: Profiler.ProfileNode['callFrame']): string {
  const url = frame.url;
  const name = frame.functionName;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)' || name === '(program)' || name === '(root)') return name;
  if (!url) return name.startsWith('JSON') || name === 'stringify' || name === 'parse' ? 'JSON (native)' : `native: ${name || '(anonymous)'}`;
  if (url.includes('/node_modules/xstate/')) return 'xstate';
  if (url.includes('/node_modules/postgres/')) return 'postgres driver';
  if (url.includes('/node_modules/zod/')) return 'zod';
  if (url.includes('/node_modules/')) return `other package: ${url.split('/node_modules/')[1]!.split('/')[0]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  const inRepo = url.match(/\/(src|bench|machines)\/(.*)$/);
  if (inRepo) return inRepo[1] === 'src' ? `src/${inRepo[2]!.split('/')[0]}` : inRepo[1]!;
  return 'other';
}

async function main(): Promise<void> {
  const db = await scratchDatabase('tg_profile');
  const tg = await createTollgate({ machines, database: { url: db.url, maxConnections: Math.min(concurrency, 32) }, snapshotCacheSize: entities });
  try {
    await tg.migrate();
    await measure(entities, 32, async (i) => {
      await tg.create('subscription', `s${i}`, { customerId: `c${i}`, plan: 'pro' });
      await tg.send('subscription', `s${i}`, { type: 'UPGRADE', paymentMethodId: 'pm' });
    });
    const send = (tag: string) => (i: number) => tg.send('subscription', `s${(i * 7919) % entities}`, { type: 'RENEW' }, { idempotencyKey: `${tag}-${i}` });
    await measure(Math.floor(ops / 4), concurrency, send('warm'));
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const cpuBefore = process.cpuUsage();
    const m = await measure(ops, concurrency, send('run'));
    const cpu = process.cpuUsage(cpuBefore);
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    if (out) writeFileSync(out, JSON.stringify(profile));

    const self = new Map<number, number>();
    const deltas = profile.timeDeltas ?? [];
    (profile.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0)));
    const byBucket = new Map<string, number>();
    const byFunction = new Map<string, number>();
    for (const node of profile.nodes) {
      const us = self.get(node.id) ?? 0;
      if (!us) continue;
      const bucket = bucketOf(node.callFrame);
      byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + us);
      const fn = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    }
    const busy = [...byBucket].filter(([b]) => b !== '(idle)').reduce((n, [, us]) => n + us, 0);
    console.log(`\n## Node CPU of ${ops} sends (RENEW, idempotency key, ${entities} cached subscriptions, concurrency ${concurrency}): ${m.opsPerSec.toFixed(0)} send/s, ` +
      `process CPU ${((cpu.user + cpu.system) / ops).toFixed(0)} µs per send (user ${(cpu.user / ops).toFixed(0)}, system ${(cpu.system / ops).toFixed(0)})`);
    const rows = [...byBucket].filter(([b]) => b !== '(idle)').sort((a, b) => b[1] - a[1]);
    printTable(['where (self time, JS thread)', 'µs per send', 'share of busy samples'], rows.map(([b, us]) => [b, (us / ops).toFixed(1), `${((us / busy) * 100).toFixed(1)}%`]));
    console.log('\nTop functions by self time:');
    printTable(['function', 'µs per send'], [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([f, us]) => [f, (us / ops).toFixed(1)]));
  } finally {
    await tg.close();
    await db.drop();
  }
}

await main();
