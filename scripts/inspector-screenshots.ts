// `npm run docs:inspector`: regenerates docs/inspector-machine.png and docs/inspector-entity.png, the screenshots
// in docs/inspector.md. Starts a runtime on a throw-away schema of $DATABASE_URL (default: the local test
// Postgres), fills it with entities in several states, serves the API and photographs the page in chromium.
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import { machines } from '../machines/index.ts';
import { buildServer } from '../src/http/server.ts';
import { createTollgate } from '../src/index.ts';
import { portsOf } from '../src/runtime/ports.ts';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `shots_${randomBytes(4).toString('hex')}`;
const tg = await createTollgate({ machines, database: { url }, schema });
await tg.migrate();
try {
  const sub = (i: number) => ({ customerId: `cust-${i}`, plan: i % 3 === 0 ? 'basic' : 'pro' });
  for (let i = 1; i <= 40; i++) {
    const id = `sub-${String(i).padStart(3, '0')}`;
    await tg.create('subscription', id, sub(i));
    if (i % 4 === 0) continue; // stays in trial
    await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: `pm_${i}` });
    if (i % 5 === 0) {
      await tg.send('subscription', id, { type: 'PAUSE' });
      if (i % 10 === 0) await tg.send('subscription', id, { type: 'RESUME' });
    } else if (i % 7 === 0) await tg.send('subscription', id, { type: 'PAYMENT_FAILED' });
    else if (i % 9 === 0) await tg.send('subscription', id, { type: 'CANCEL' });
  }
  for (const id of ['sub-004', 'sub-008']) await tg.send('subscription', id, { type: 'RESUME' }).catch(() => {}); // refused: drawn as refusals
  await tg.send('subscription', 'sub-001', { type: 'RENEW' });
  await tg.send('subscription', 'sub-001', { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_1' });

  const app = await buildServer(tg, { auth: { mode: 'open' } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await page.goto(`${base}/inspector#/machine/subscription/state/active`);
    await page.locator('[data-state="active"][data-count]').waitFor();
    await page.locator('[data-entity-id]').first().waitFor();
    await page.screenshot({ path: 'docs/inspector-machine.png' });
    await page.goto(`${base}/inspector#/machine/subscription/entity/sub-010`);
    await page.locator('[data-entity="sub-010"] [data-seq="4"]').waitFor();
    await page.locator('[data-entity="sub-010"] [data-seq="2"]').click();
    await page.locator('[data-snapshot-seq="2"]').waitFor();
    await page.screenshot({ path: 'docs/inspector-entity.png' });
    if (process.argv.includes('--order')) {
      await page.goto(`${base}/inspector#/machine/order`);
      await page.locator('[data-state="paid"]').waitFor();
      await page.screenshot({ path: '.scratch/inspector-order.png' });
    }
  } finally {
    await browser.close();
    await app.close();
  }
  console.log('wrote docs/inspector-machine.png and docs/inspector-entity.png');
} finally {
  await portsOf(tg).database.client.query(`DROP SCHEMA ${schema} CASCADE`);
  await tg.close();
}
