import type { CommittedEffect } from '../store/commit.ts';
import type { NewJob } from '../jobs/transport.ts';

/** The job of one effect; the worker reads everything else from the effect row. */
export interface EffectJobData {
  readonly effectId: string;
  readonly machine: string;
  readonly entityId: string;
  readonly type: string;
}

/** The job of an effect row as the relay's claim and the sweeper select it. */
export function effectJobOfRow(r: { id: string; machine: string; entity_id: string; type: string }): NewJob<EffectJobData> {
  return effectJob({ id: r.id, machine: r.machine, entityId: r.entity_id, type: r.type });
}

/** The job that runs effect `id` (relay, direct hand-off and sweeper add the same one). */
export function effectJob(e: CommittedEffect): NewJob<EffectJobData> {
  return { id: e.id, data: { effectId: e.id, machine: e.machine, entityId: e.entityId, type: e.type } };
}
