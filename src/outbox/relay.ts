import type { Clock } from '../clock.ts';
import { outboxChannel } from '../store/commit.ts';
import { quoteIdent, type SqlClient } from '../store/sql-client.ts';
import { handOff, startLoop, type Loop } from './hand-off.ts';
import { idsOf } from './ids.ts';
import { defaultLogger, type ProcessLogger } from './logger.ts';
import { effectMetrics } from './metrics.ts';
import type { Transport } from './transport.ts';
import type { Registry } from 'prom-client';

/** The job of one effect; the worker reads everything else from the effect row. */
export interface EffectJobData {
  readonly effectId: string;
  readonly machine: string;
  readonly entityId: string;
  readonly type: string;
}

/** What the relay needs of a runtime (`tg.internals` has it). */
export interface OutboxHost {
  readonly client: SqlClient;
  readonly schema: string;
  readonly metrics: { readonly registry: Registry };
}

/** Options of the relay. */
export interface RelayOptions {
  readonly transport: Transport;
  /** Effects claimed per transaction. Default 500. */
  readonly batchSize?: number;
  /** Poll when no NOTIFY came: the bound on the latency a lost notification costs. Default 1,000 ms. */
  readonly pollIntervalMs?: number;
  /** Read by the outbox-lag gauge. */
  readonly clock: Clock;
  readonly logger?: ProcessLogger;
}

/** A running relay. */
export interface Relay {
  /** One claim-dispatch-mark round now; how many effects it dispatched. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the outbox relay: pending effect rows -> transport -> marked dispatched. Wakes on the commit's NOTIFY
 * and polls, so a lost notification costs latency, never an effect. Any number may run at once: each round claims
 * with `FOR UPDATE SKIP LOCKED`, so two relays never hold the same row.
 *
 * @example
 * const relay = await startRelay(tg.internals, { transport, clock: systemClock });
 * await relay.stop();
 */
export async function startRelay(host: OutboxHost, options: RelayOptions): Promise<Relay> {
  const s = quoteIdent(host.schema);
  const batchSize = options.batchSize ?? 500;
  const logger = options.logger ?? defaultLogger();
  const metrics = effectMetrics(host.metrics.registry);
  const claimSql = `SELECT id, machine, entity_id, type FROM ${s}.effects
    WHERE status = 'pending' ORDER BY created_at LIMIT $1::int FOR UPDATE SKIP LOCKED`;
  const markSql = `UPDATE ${s}.effects SET status = 'dispatched', dispatched_at = now()
    WHERE id = ANY(${idsOf('$1')})`; // the claim locked them pending: no status test (see HandOff.markSql)

  const runOnce = async () => {
    const rows = await handOff<{ id: string; machine: string; entity_id: string; type: string }>({
      client: host.client,
      transport: options.transport,
      queue: 'effects',
      claimSql,
      claimParams: [batchSize],
      markSql,
      toJob: (r) => ({ id: r.id, data: { effectId: r.id, machine: r.machine, entityId: r.entity_id, type: r.type } satisfies EffectJobData }),
      fault: 'relay.after-enqueue-before-mark',
    });
    metrics.dispatched.inc(rows.length);
    return rows.length;
  };

  metrics.sources.pending = async () => {
    const [row] = await host.client.query<{ n: number; oldest: Date | null }>(
      `SELECT count(*)::int AS n, min(created_at) AS oldest FROM ${s}.effects WHERE status = 'pending'`,
    );
    const oldest = row?.oldest ? new Date(row.oldest).getTime() : undefined;
    return { count: row?.n ?? 0, oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, options.clock.now() - oldest) / 1000 };
  };

  const loop: Loop = startLoop(
    async () => (await runOnce()) === batchSize,
    options.pollIntervalMs ?? 1000,
    (error) => logger.error({ err: error }, 'outbox relay round failed; retrying at the next poll'),
  );
  const unlisten = await host.client.listen(outboxChannel(host.schema), () => loop.wake());
  return {
    runOnce,
    async stop() {
      await unlisten().catch(() => {});
      await loop.stop();
      metrics.sources.pending = undefined;
    },
  };
}
