import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../src/clock.ts';
import { JobFailedError, type RunningJob, type Transport } from '../../src/jobs/transport.ts';
import { bullmqTransport } from '../../src/jobs/transports/bullmq.ts';
import { inProcessTransport } from '../../src/jobs/transports/in-process.ts';
import { eventually, transportKinds, type TransportKind } from '../support/processes.ts';
import { sharedRedisUrl, uniquePrefix } from '../support/redis.ts';

// One suite, every transport (STYLE.md): what the relay, timers and workers rely on must hold on both.
const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function make(kind: TransportKind, clock: Clock = systemClock, prefix = kind === 'bullmq' ? uniquePrefix() : ''): Transport {
  const t =
    kind === 'bullmq'
      ? bullmqTransport({ redisUrl: sharedRedisUrl(), prefix, namespace: 'conf', clock, maxDeliveries: 3, lockDurationMs: 2000, stalledIntervalMs: 1000 })
      : inProcessTransport({ clock, maxDeliveries: 3 });
  open.push(t);
  return t;
}

describe.each(transportKinds())('transport conformance: %s', (kind) => {
  it('delivers every added job once, with its data', async () => {
    const t = make(kind);
    const seen: string[] = [];
    t.consume<{ n: number }>('effects', async (job) => {
      seen.push(`${job.id}:${job.data.n}:${job.delivery}`);
      return {};
    });
    await t.add('effects', Array.from({ length: 50 }, (_, n) => ({ id: `job-e${n}`, data: { n } })));
    await eventually(() => seen.length === 50);
    await sleep(200);
    expect(seen.sort()).toEqual(Array.from({ length: 50 }, (_, n) => `job-e${n}:${n}:1`).sort());
  });

  it('runs as many jobs at once as its concurrency, never more', async () => {
    const t = make(kind);
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.consume(
      'effects',
      async () => {
        running++;
        most = Math.max(most, running);
        await gate;
        running--;
        return {};
      },
      { concurrency: 20 },
    );
    await t.add('effects', Array.from({ length: 30 }, (_, n) => ({ id: `burst-e${n}`, data: {} })));
    await eventually(() => running === 20);
    await sleep(300);
    expect(most).toBe(20);
    release();
    await eventually(async () => (await t.present('effects', Array.from({ length: 30 }, (_, n) => `burst-e${n}`))).size === 0);
    expect(most).toBe(20);
  });

  it('ignores an id added again while its job waits or runs, and runs it again once the job completed', async () => {
    const t = make(kind);
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.consume('effects', async () => {
      runs++;
      await gate;
      return {};
    });
    await t.add('effects', [{ id: 'dup-e0', data: {} }]);
    await t.add('effects', [{ id: 'dup-e0', data: {} }]);
    await eventually(() => runs === 1);
    await t.add('effects', [{ id: 'dup-e0', data: {} }]);
    expect(await t.present('effects', ['dup-e0', 'other-e1'])).toEqual(new Set(['dup-e0']));
    release();
    await eventually(async () => (await t.present('effects', ['dup-e0'])).size === 0);
    expect(runs).toBe(1);
    await t.add('effects', [{ id: 'dup-e0', data: {} }]);
    await eventually(() => runs === 2);
  });

  it('redelivers a job whose handler asks to retry later, after the delay', async () => {
    const t = make(kind);
    const at: number[] = [];
    t.consume('effects', async (job) => {
      at.push(Date.now());
      return job.delivery === 1 && at.length === 1 ? { retryInMs: 300 } : {};
    });
    await t.add('effects', [{ id: 'later-e0', data: {} }]);
    await eventually(() => at.length === 2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(280);
  });

  it('does not count a run that asked to retry later as a delivery: a long deferral leaves every retry for errors', async () => {
    // A frozen follow-up is deferred every second for as long as the freeze lasts; if those runs counted, the first
    // error after a freeze longer than maxDeliveries runs would end the job at once.
    const t = make(kind);
    const seen: string[] = [];
    t.consume('events', async (job) => {
      const run = seen.length;
      seen.push(`${run < 5 ? 'defer' : run < 7 ? 'throw' : 'ok'}:${job.delivery}`);
      if (run < 5) return { retryInMs: 20 };
      if (run < 7) throw new Error('transient');
      return { value: 'done' };
    });
    await t.add('events', [{ id: 'defer-e0', data: {} }]);
    expect(await t.waitFor('events', 'defer-e0', 20_000)).toBe('done');
    expect(seen).toEqual(['defer:1', 'defer:1', 'defer:1', 'defer:1', 'defer:1', 'throw:1', 'throw:2', 'ok:3']);
  });

  it('retries a throwing handler and fails the job after the maximum deliveries', async () => {
    const t = make(kind);
    const deliveries: number[] = [];
    t.consume('events', async (job) => {
      deliveries.push(job.delivery);
      throw new Error('boom');
    });
    await t.add('events', [{ id: 'boom-e0', data: {} }]);
    await expect(t.waitFor('events', 'boom-e0', 10_000)).rejects.toBeInstanceOf(JobFailedError);
    expect(deliveries).toEqual([1, 2, 3]);
  });

  it('answers waitFor with the value the handler returned', async () => {
    const t = make(kind);
    t.consume<{ x: number }>('events', async (job) => ({ value: { doubled: job.data.x * 2 } }));
    await t.add('events', [{ id: 'val-e0', data: { x: 21 } }]);
    expect(await t.waitFor('events', 'val-e0', 10_000)).toEqual({ doubled: 42 });
  });

  it('holds a job with a due time until its clock reaches it', async () => {
    const clock = kind === 'in-process' ? new ManualClock(1_000_000) : systemClock;
    const t = make(kind, clock);
    const fired: number[] = [];
    t.consume('timers', async () => {
      fired.push(Date.now());
      return {};
    });
    const addedAt = Date.now();
    await t.add('timers', [{ id: 'due-t0', data: {}, dueAt: clock.now() + 400 }]);
    await sleep(kind === 'in-process' ? 600 : 150);
    if (clock instanceof ManualClock) {
      expect(fired).toEqual([]); // real time passed, the clock did not
      clock.advance(400);
      await eventually(() => fired.length === 1);
    } else {
      expect(fired).toEqual([]);
      await eventually(() => fired.length === 1);
      expect(fired[0]! - addedAt).toBeGreaterThanOrEqual(380);
    }
  });

  it('on close, lets running jobs finish within the deadline, then aborts them and takes no more', async () => {
    const t = make(kind);
    const signals: AbortSignal[] = [];
    const consumer = t.consume('effects', async (job: RunningJob) => {
      signals.push(job.signal);
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      return {};
    });
    await t.add('effects', [{ id: 'slow-e0', data: {} }]);
    await eventually(() => signals.length === 1);
    const started = Date.now();
    await consumer.close(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(signals[0]!.aborted).toBe(true);
    await t.add('effects', [{ id: 'after-e0', data: {} }]);
    await sleep(200);
    expect(signals).toHaveLength(1);
  });
});
