import { createWebSocketInspector } from '@statelyai/inspect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { machines } from '../../machines/index.ts';
import { buildServer } from '../../src/http/server.ts';
import type { Tollgate } from '../../src/index.ts';
import { chromiumAvailable, testBrowser } from '../support/browser.ts';
import { testRuntime } from '../support/databases.ts';

const sub = { customerId: 'c-1', plan: 'pro' };

// CI installs chromium (.ci/run); a machine without it skips the page tests and says so.
describe.runIf(chromiumAvailable())('the inspector page, in chromium, against a server on Postgres', () => {
  let tg: Tollgate<typeof machines>;
  let base = '';
  let close = async () => {};

  beforeAll(async () => {
    tg = await testRuntime('postgres', { machines });
    // An open (keyless) server, as `tollgate dev` runs it: loopback clients only.
    const app = await buildServer(tg, { auth: { mode: 'open' } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    close = () => app.close();
    for (const id of ['s-a', 's-b', 's-c', 's-d']) await tg.create('subscription', id, sub);
    await tg.send('subscription', 's-b', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 's-c', { type: 'UPGRADE', paymentMethodId: 'pm' });
    await tg.send('subscription', 's-c', { type: 'PAUSE' });
  });
  afterAll(() => close());

  it('draws counts on states, lists a state\'s entities, shows a timeline, and follows a commit live', async () => {
    const page = await (await testBrowser()).newPage();
    await page.goto(`${base}/inspector#/machine/subscription`);
    const count = (state: string) => page.locator(`[data-state="${state}"]`).getAttribute('data-count', { timeout: 10_000 });
    await page.locator('[data-state="trial"][data-count="2"]').waitFor({ timeout: 15_000 });
    expect(await count('active')).toBe('1');
    expect(await count('paused')).toBe('1');
    expect(await count('paused.idle')).toBe('1');
    expect(await count('paused.resuming')).toBe('0');
    expect(await count('canceled')).toBe('0');

    await page.locator('[data-state="active"] rect').first().click();
    await page.locator('[data-entity-id="s-b"]').click();
    await page.locator('[data-entity="s-b"] [data-seq="2"]').waitFor();
    expect(await page.locator('[data-entity="s-b"] [data-seq]').count()).toBe(2);
    expect(await page.locator('[data-state="active"]').getAttribute('class')).toContain('active');

    // A commit through the API (another client): counts move and the timeline grows, without a reload.
    const sent = await fetch(`${base}/v1/entities/subscription/s-b/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'PAUSE' }),
    });
    expect(sent.status).toBe(200);
    await page.locator('[data-entity="s-b"] [data-seq="3"]').waitFor({ timeout: 5000 });
    await page.locator('[data-state="paused"][data-count="2"]').waitFor({ timeout: 5000 });
    expect(await count('active')).toBe('0');

    // Stepping back: the snapshot after transition 2 highlights the state it was in then.
    await page.locator('[data-entity="s-b"] [data-seq="2"]').click();
    await page.locator('[data-snapshot-seq="2"]').waitFor();
    expect(await page.locator('[data-state="active"]').getAttribute('class')).toContain('active');
    expect(await page.locator('[data-state="paused.idle"]').getAttribute('class')).not.toContain('active');
    await page.close();
  }, 90_000);

  it('shows a plain XState actor connected with @statelyai/inspect as a live actor, following its events', async () => {
    const light = createMachine({
      id: 'light',
      initial: 'green',
      states: { green: { on: { TIMER: 'yellow' } }, yellow: { on: { TIMER: 'red' } }, red: { on: { TIMER: 'green' } } },
    });
    const inspector = createWebSocketInspector({ url: `${base.replace('http', 'ws')}/inspector/ws` });
    const actor = createActor(light, { inspect: inspector.inspect }).start();
    try {
      const page = await (await testBrowser()).newPage();
      await page.goto(`${base}/inspector#/machine/subscription`);
      const link = page.locator(`[data-actor="${actor.sessionId}"]`);
      await link.waitFor({ timeout: 10_000 });
      await link.click();
      await page.locator('[data-actor-view] [data-state="green"].active').waitFor({ timeout: 10_000 });
      actor.send({ type: 'TIMER' });
      actor.send({ type: 'TIMER' });
      await page.locator('[data-actor-view] [data-state="red"].active').waitFor({ timeout: 5000 });
      expect(await page.locator('[data-actor-view] [data-event="TIMER"]').count()).toBe(2);
      expect(await page.locator('[data-actor-state]').textContent()).toContain('red');
      await page.close();
    } finally {
      actor.stop();
      inspector.stop();
    }
  }, 90_000);
  it("draws the transitions declared on the machine's root, and history, final and parallel states, initial dots, guards and effects", async () => {
    const lamp = createMachine({
      id: 'lamp',
      initial: 'off',
      // Handled in every state: RESET goes back to off, PING stays where it is.
      on: { RESET: '.off', PING: { actions: 'ping' } },
      states: {
        off: { on: { TOGGLE: 'on', BREAK: 'broken' } },
        on: {
          type: 'parallel',
          on: { TOGGLE: 'off', RESUME: { target: 'on.hist', guard: 'warm', actions: 'log' } },
          states: {
            colour: { initial: 'white', states: { white: {}, red: {} } },
            hist: { type: 'history', history: 'deep' },
          },
        },
        broken: { type: 'final' },
      },
    });
    const inspector = createWebSocketInspector({ url: `${base.replace('http', 'ws')}/inspector/ws` });
    const actor = createActor(lamp, { inspect: inspector.inspect }).start();
    try {
      const page = await (await testBrowser()).newPage();
      await page.goto(`${base}/inspector#/machine/subscription`);
      await page.locator(`[data-actor="${actor.sessionId}"]`).click({ timeout: 10_000 });
      const view = page.locator('[data-actor-view]');
      await view.locator('[data-state="off"].active').waitFor({ timeout: 10_000 });
      expect(await view.locator('[data-machine="lamp"]').count()).toBe(1);
      const reset = view.locator('[data-edge="(machine)->off"]');
      const ping = view.locator('[data-edge="(machine)->(machine)"]');
      expect(await reset.count()).toBe(1);
      expect(await reset.locator('.edge-label').textContent()).toBe('RESET');
      expect(await ping.count()).toBe(1);
      expect(await ping.locator('.edge-label').textContent()).toBe('PING / ping');
      // Drawn, not just listed: each has a path with at least two points.
      for (const edge of [reset, ping]) expect((await edge.locator('path').getAttribute('d'))?.split('L').length).toBeGreaterThan(1);
      // The rest of a statechart's notation.
      expect(await view.locator('[data-state="broken"].type-final .final-inner').count()).toBe(1);
      expect(await view.locator('[data-state="on.hist"].type-history circle').count()).toBe(1);
      expect(await view.locator('[data-state="on.hist"] text').textContent()).toBe('H*');
      expect(await view.locator('[data-state="on"].type-parallel').count()).toBe(1);
      expect(await view.locator('[data-state="on.colour"].region').count()).toBe(1);
      expect(await view.locator('.initial-dot').count()).toBe(2); // the machine's (off) and colour's (white)
      expect(await view.locator('[data-edge="on->on.hist"] .edge-label').textContent()).toBe('RESUME [warm] / log');
      await page.close();
    } finally {
      actor.stop();
      inspector.stop();
    }
  }, 90_000);
});
