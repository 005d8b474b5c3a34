import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import type { Tollgate } from '../../src/index.ts';
import type { MachineRegistry } from '../../src/engine/definition.ts';
import { startProcesses, type Processes, type ProcessesOptions } from '../../workers/index.ts';
import { uniquePrefix } from './redis.ts';

/** The transports the effect suites run on: in-process always, BullMQ when the test Redis is reachable. */
export type TransportKind = 'in-process' | 'bullmq';

export function transportKinds(): TransportKind[] {
  return inject('redisUrl') ? ['in-process', 'bullmq'] : ['in-process'];
}

/** Silent logger for tests (failures are asserted, not read). */
export const quietLogger = { error() {}, warn() {}, info() {} };

const started: Processes[] = [];
const runtimes = new Set<Tollgate<MachineRegistry>>();

/** Starts processes for `tg` on `kind` with test-fast intervals; stopped by `stopAll`. */
export async function testProcesses<R extends MachineRegistry>(
  tg: Tollgate<R>,
  kind: TransportKind,
  options: Partial<ProcessesOptions> & { redisUrl?: string } = {},
): Promise<Processes> {
  const redisUrl = kind === 'bullmq' ? (options.redisUrl ?? inject('redisUrl')) : undefined;
  const processes = await startProcesses(tg as unknown as Tollgate, {
    transport: kind,
    redisUrl,
    queuePrefix: kind === 'bullmq' ? (options.queuePrefix ?? uniquePrefix(redisUrl)) : undefined,
    logger: quietLogger,
    // Tests register the handlers they exercise; the other effects wait.
    allowMissingHandlers: tg.effectTypes(),
    ...options,
    tuning: { pollIntervalMs: 100, sweepIntervalMs: 60_000, sweepMinAgeMs: 0, lockDurationMs: 2000, stalledIntervalMs: 1000, ...options.tuning },
  });
  started.push(processes);
  runtimes.add(tg as unknown as Tollgate<MachineRegistry>);
  return processes;
}

/** Stops the processes, then closes their runtimes (a file's runtimes would otherwise hold connections until its end). */
export async function stopAll(): Promise<void> {
  await Promise.all(started.splice(0).map((p) => p.stop({ deadlineMs: 1000 })));
  const open = [...runtimes];
  runtimes.clear();
  await Promise.all(open.map((tg) => tg.close()));
}

/** Polls `check` until it returns true (or throws the last failure after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
