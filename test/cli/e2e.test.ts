import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { hashApiKey } from '../../src/http/auth.ts';
import { testDatabaseUrl } from '../support/databases.ts';
import { uniquePrefix } from '../support/redis.ts';
import { runCli, startDaemon, type Daemon } from './support.ts';

// tollgate as a team runs it: `tollgate serve` and `tollgate worker` as separate processes over Postgres and
// Redis, driven only through the HTTP API. Twice: with the relay in the worker (effects reach it by NOTIFY and a
// claim), and in the API process (`serve --relay`: each commit hands its effects to it, and no relay runs elsewhere).
const layouts = [
  { name: 'relay in the worker', serve: [], worker: [], running: 'relay, timers, effectWorkers, eventWorkers, feed', serveNote: '' },
  { name: 'relay in serve', serve: ['--relay'], worker: ['--no-relay'], running: 'timers, effectWorkers, eventWorkers, feed', serveNote: ', relay' },
];
describe.each(layouts)('serve + worker end to end, $name', (layout) => {
  const daemons: Daemon[] = [];
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('drives a subscription through the API to canceled; every effect runs exactly once', async () => {
    const redisUrl = inject('redisUrl');
    if (!redisUrl) throw new Error('this test needs Redis (see test/support/global-setup.ts); it is never skipped');
    const databaseUrl = await testDatabaseUrl();
    const schema = `e2e_${randomBytes(4).toString('hex')}`;
    const key = `tg_${randomBytes(18).toString('base64url')}`;
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      TOLLGATE_SCHEMA: schema,
      TOLLGATE_QUEUE_PREFIX: uniquePrefix(redisUrl), // its keys are deleted after the file
      TOLLGATE_API_KEYS: JSON.stringify([{ name: 'e2e', hash: hashApiKey(key), scopes: ['write'] }]),
      TOLLGATE_LOG_LEVEL: 'warn',
    };

    const migrated = await runCli(['migrate'], { env });
    expect(migrated.stdout, migrated.stderr).toMatch(/applied \d+ migration/);
    const [serve, worker] = await Promise.all([
      startDaemon(['serve', '--host', '127.0.0.1', '--port', '0', ...layout.serve], new RegExp(`listening on (http://127\\.0\\.0\\.1:\\d+) \\(.*key\\(s\\)${layout.serveNote}\\)`), { env }),
      startDaemon(['worker', '--concurrency', '4', '--metrics-port', '0', '--metrics-host', '127.0.0.1', ...layout.worker], new RegExp(`tollgate worker: running ${layout.running} `), { env }),
    ]);
    daemons.push(serve, worker);
    const base = serve.match[1] as string;
    const api = async (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> & { items?: Array<Record<string, unknown>> } };
    };
    const settled = async () => {
      for (let i = 0; i < 150; i++) {
        const { body } = await api('GET', '/v1/entities/subscription/e2e-1/effects');
        // Completed, and the follow-up event (PAYMENT_SUCCEEDED after a charge) through the gate.
        const done = (e: Record<string, unknown>) => e.status === 'completed' && (e.followUp === null || (e.followUp as { outcome: unknown }).outcome !== null);
        if (body.items?.every(done)) return body.items;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('effects did not complete within 15 s');
    };

    expect((await api('GET', '/readyz')).body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    expect((await api('POST', '/v1/entities/subscription', { id: 'e2e-1', input: { customerId: 'cust-e2e', plan: 'pro' } })).status).toBe(201);
    const steps: Array<[Record<string, unknown>, string]> = [
      [{ type: 'UPGRADE', paymentMethodId: 'pm_e2e' }, 'active'],
      [{ type: 'PAUSE' }, 'paused.idle'],
      [{ type: 'RESUME' }, 'paused.resuming'],
      [{ type: 'CANCEL', reason: 'moving away' }, 'canceled'],
    ];
    for (const [index, [event, state]] of steps.entries()) {
      const sent = await api('POST', '/v1/entities/subscription/e2e-1/events', event, { 'idempotency-key': `step-${index}` });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect((sent.body.entity as { state: string }).state).toBe(state);
      // A retried request is answered from the first commit, not applied again.
      const retried = await api('POST', '/v1/entities/subscription/e2e-1/events', event, { 'idempotency-key': `step-${index}` });
      expect(retried.body.replayed).toBe(true);
      await settled();
    }

    const entity = (await api('GET', '/v1/entities/subscription/e2e-1')).body;
    expect(entity).toMatchObject({ state: 'canceled', status: 'done', context: { payments: 2, paymentMethodId: 'pm_e2e' } });
    const history = (await api('GET', '/v1/entities/subscription/e2e-1/transitions')).body.items?.map((t) => `${t.eventType}:${t.toState}`);
    expect(history).toEqual([
      'xstate.init:trial',
      'UPGRADE:active',
      'PAYMENT_SUCCEEDED:active',
      'PAUSE:paused.idle',
      'RESUME:paused.resuming',
      'PAYMENT_SUCCEEDED:active',
      'CANCEL:canceled',
    ]);
    const effects = (await settled()) as Array<{ id: string; type: string; attempts: number; followUp: unknown }>;
    expect(effects.map((e) => e.type)).toEqual(['chargePayment', 'sendEmail', 'chargePayment', 'sendEmail']);
    expect(effects[0]?.followUp).toMatchObject({ event: { type: 'PAYMENT_SUCCEEDED' }, outcome: { status: 'committed', state: 'active' } });
    expect(effects[1]?.followUp).toBeNull();

    // What the outside world saw: one provider call per effect, one email per effect.
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const charges = await sql.unsafe(`SELECT idempotency_key, calls FROM "${schema}".demo_charges ORDER BY created_at`);
      const emails = await sql.unsafe(`SELECT effect_id, template, calls FROM "${schema}".demo_emails ORDER BY created_at`);
      expect(charges.map((c) => [c.idempotency_key, c.calls])).toEqual(effects.filter((e) => e.type === 'chargePayment').map((e) => [e.id, 1]));
      expect(emails.map((e) => [e.effect_id, e.template, e.calls])).toEqual(
        effects.filter((e) => e.type === 'sendEmail').map((e, i) => [e.id, ['paused', 'cancellation'][i], 1]),
      );
    } finally {
      await sql.end();
    }

    // The worker's own metrics: the effects it ran and the follow-ups it sent through the gate are counted there.
    const metricsUrl = /tollgate worker: metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(worker.output().stdout)?.[1];
    expect(metricsUrl, worker.output().stdout).toBeDefined();
    const scraped = await (await fetch(metricsUrl as string)).text();
    expect(scraped).toContain('tollgate_effect_outcomes_total{type="chargePayment",outcome="completed"} 2');
    expect(scraped).toContain('tollgate_effect_outcomes_total{type="sendEmail",outcome="completed"} 2');
    expect(scraped).toMatch(/tollgate_transitions_total\{[^}]*event="PAYMENT_SUCCEEDED"[^}]*\} 1/);
    expect((await fetch(metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);

    // SIGTERM: both stop gracefully, exit 0.
    const [serveCode, workerCode] = await Promise.all([serve.stop(), worker.stop()]);
    expect([serveCode, workerCode]).toEqual([0, 0]);
  }, 90_000);
});
