import type { Clock } from '../clock.ts';
import { settlesWithin } from '../jobs/deadline.ts';
import { directHandOff } from './direct-hand-off.ts';
import { effectJobOfRow } from './effect-job.ts';
import { faultPoint } from '../jobs/faults.ts';
import { startLoop, type Loop } from '../jobs/loop.ts';
import { defaultLogger, type ProcessLogger } from '../jobs/logger.ts';
import type { Transport } from '../jobs/transport.ts';
import type { RuntimePorts } from '../runtime/ports.ts';

/** What the relay needs of a runtime: the outbox statements, the metrics, and the slot its direct hand-off fills. */
export type RelayPort = Pick<RuntimePorts, 'outboxStore' | 'jobMetrics' | 'handOff'>;

/** Options of the relay. */
export interface RelayOptions {
  readonly transport: Transport;
  /** Effects claimed per round. Default 500. */
  readonly batchSize?: number;
  /** Poll when no NOTIFY came: the bound on the latency a lost notification costs. Default 1,000 ms. */
  readonly pollIntervalMs?: number;
  /** Read by the outbox-lag gauge. */
  readonly clock: Clock;
  /**
   * Take the effects of commits made through this runtime (`port.handOff`) in this process straight from the
   * commit: they are written dispatched and added at once, with no NOTIFY and no claim (direct-hand-off.ts).
   * Commits from other processes still reach the relay through NOTIFY and polling. Default false.
   */
  readonly directHandOff?: boolean;
  readonly logger?: ProcessLogger;
}

/** A running relay. */
export interface Relay {
  /** One claim-dispatch-mark round now; how many effects it dispatched. */
  runOnce(): Promise<number>;
  /**
   * Stops after the round under way and, with the direct hand-off, the adds of effects already taken, waiting up to
   * `deadlineMs` (default 10,000) for them: past it (Redis unreachable) their effects stay dispatched without a
   * job, for the sweeper.
   */
  stop(deadlineMs?: number): Promise<void>;
}

/**
 * Starts the outbox relay: pending effect rows -> marked dispatched -> transport. Wakes on the NOTIFY sent after
 * commits and polls, so a lost notification costs latency, never an effect. Any number may run at once.
 *
 * A round is two steps. The claim is one statement (its own transaction): it picks pending rows `FOR UPDATE SKIP
 * LOCKED` and marks them dispatched, so two relays never claim the same row, and it commits before the hand-off:
 * a worker that gets the job at once records its outcome without waiting on the relay's row locks. Then the jobs
 * are added. A relay that dies between the two leaves dispatched effects without a job: exactly what Redis losing
 * its jobs leaves, and the sweeper re-adds them (`sweepEffects`, effects dispatched longer than `sweepMinAgeMs`
 * ago whose job is gone). A separate "mark dispatched after the add" statement would cost a round trip per round
 * and still need that repair for a job lost later.
 *
 * With `directHandOff`, commits made in this process skip all of that: they write their effects dispatched and
 * hand them to this relay, which adds them at once (direct-hand-off.ts). The claim rounds then serve commits from
 * other processes, and rows a crash or a lost notification left pending.
 *
 * @example
 * const relay = await startRelay(portsOf(tg), { transport, clock: systemClock });
 * await relay.stop();
 */
export async function startRelay(port: RelayPort, options: RelayOptions): Promise<Relay> {
  const batchSize = options.batchSize ?? 500;
  const logger = options.logger ?? defaultLogger();
  const metrics = port.jobMetrics();
  const runOnce = async () => {
    const rows = await port.outboxStore.claim(batchSize);
    if (rows.length === 0) return 0;
    await faultPoint('relay.after-claim-before-enqueue');
    rows.sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
    await options.transport.add('effects', rows.map(effectJobOfRow));
    metrics.dispatched.inc(rows.length);
    return rows.length;
  };

  metrics.sources.pending = async () => {
    const { count, oldest } = await port.outboxStore.pending();
    const oldestMs = oldest ? new Date(oldest).getTime() : undefined;
    return { count, oldestAgeSeconds: oldestMs === undefined ? 0 : Math.max(0, options.clock.now() - oldestMs) / 1000 };
  };

  const loop: Loop = startLoop(
    async () => (await runOnce()) === batchSize,
    options.pollIntervalMs ?? 1000,
    (error) => logger.error({ err: error }, 'outbox relay round failed; retrying at the next poll'),
  );
  const unlisten = await port.outboxStore.listen(() => loop.wake());
  const direct = options.directHandOff ? directHandOff({ transport: options.transport, metrics, logger, batchSize }) : undefined;
  if (direct) port.handOff.current = direct;
  return {
    runOnce,
    async stop(deadlineMs = 10_000) {
      // Detached first: later commits write pending effects and NOTIFY; the effects already taken are added.
      if (direct && port.handOff.current === direct) port.handOff.current = undefined;
      await unlisten().catch(() => {});
      // A round or an add that hangs (Redis unreachable) is abandoned at the deadline: its effects are committed
      // dispatched, and the sweeper re-adds them.
      await settlesWithin(Promise.all([direct?.drain(), loop.stop()]), deadlineMs);
      metrics.sources.pending = undefined;
    },
  };
}
