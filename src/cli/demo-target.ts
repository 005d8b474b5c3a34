import type { DemoAnswer, DemoEffect, DemoTarget, DemoTransition } from '../demo/target.ts';
import { sumMetric } from '../demo/target.ts';
import { entityPath, type ApiClient } from './client.ts';
import { ProblemError } from './exit.ts';

/**
 * The demo against a running server, through its HTTP API: problem+json answers are counted by code; an
 * unreachable server throws (exit 3). Conflict retries come from `/metrics` when the key may read it.
 */
export function httpTarget(api: ApiClient, where: string): DemoTarget {
  const answer = async (request: Promise<{ replayed?: boolean }>): Promise<DemoAnswer> => {
    try {
      return { replayed: (await request).replayed === true };
    } catch (error) {
      if (error instanceof ProblemError) return { code: error.code };
      throw error;
    }
  };
  const path = (id: string) => entityPath('subscription', id);
  return {
    where,
    create: (id, input, key) => answer(api.request('POST', '/v1/entities/subscription', { id, input }, { 'idempotency-key': key })),
    send: (id, event, key) => answer(api.request('POST', `${path(id)}/events`, event, { 'idempotency-key': key })),
    async history(id) {
      const all: DemoTransition[] = [];
      for (let after: number | null = 0; after !== null; ) {
        const page: { items: Array<DemoTransition & { seq: number }>; nextAfterSeq: number | null } = await api.request('GET', `${path(id)}/transitions?afterSeq=${after}&limit=1000`);
        all.push(...page.items);
        after = page.nextAfterSeq;
      }
      return all;
    },
    effects: async (id) => (await api.request<{ items: DemoEffect[] }>('GET', `${path(id)}/effects`)).items,
    async conflictRetries() {
      try {
        return sumMetric(await api.requestText('GET', '/metrics'), 'tollgate_conflict_retries_total');
      } catch (error) {
        if (error instanceof ProblemError) return undefined; // the key may not read /metrics
        throw error;
      }
    },
  };
}
