/**
 * The chaos runner's client: subscriptions driven through their lifecycle over HTTP against either `serve`, every
 * request with an idempotency key, retried with the same key until it is answered for good. Every 2xx is recorded
 * with its transition id (the acknowledgements that must never be lost), every final refusal with its code (which
 * must never turn out to have committed).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** An answer the client was given as final. */
export interface Ack {
  readonly id: string;
  readonly key: string;
  readonly eventType: string;
  readonly transitionId: string | null;
  readonly seq: number | null;
}
export interface Refusal {
  readonly id: string;
  readonly key: string;
  readonly eventType: string;
  readonly code: string;
}
export interface Ledger {
  readonly acks: Ack[];
  readonly refusals: Refusal[];
  /** Requests that got no final answer before the run ended (neither acknowledged nor refused). */
  unanswered: number;
  retries: number;
}

// Answers worth retrying with the same key: the server, the database or Redis was away, or a writer raced.
const retryableStatus = new Set([408, 429, 500, 502, 503, 504]);

const events: ReadonlyArray<[number, Record<string, unknown>]> = [
  [3, { type: 'UPGRADE', paymentMethodId: 'pm_chaos' }],
  [4, { type: 'RENEW' }],
  [2, { type: 'PAUSE' }],
  [2, { type: 'RESUME' }],
  [2, { type: 'PAYMENT_FAILED', reason: 'chaos' }],
  [1, { type: 'CANCEL', reason: 'chaos' }],
];

export class Traffic {
  readonly ledger: Ledger = { acks: [], refusals: [], unanswered: 0, retries: 0 };
  private next = 0;
  constructor(
    private readonly urls: readonly string[],
    private readonly apiKey: string,
    private readonly seed: number,
  ) {}

  /** `clients` loops for `durationMs`; resolves when every request in flight got its final answer (or gave up). */
  async run(durationMs: number, clients: number): Promise<Ledger> {
    const until = Date.now() + durationMs;
    await Promise.all(Array.from({ length: clients }, () => this.client(until)));
    return this.ledger;
  }

  private async client(until: number): Promise<void> {
    while (Date.now() < until) {
      const id = `chaos-${this.seed}-${this.next++}`;
      const input = {
        customerId: `cust-${id}`,
        plan: 'pro',
        trialPeriodMs: 1000 + Math.floor(Math.random() * 8000),
        gracePeriodMs: 1000 + Math.floor(Math.random() * 3000),
        ...(Math.random() < 0.5 ? { paymentMethodId: 'pm_chaos' } : {}),
      };
      const created = await this.request(`/v1/entities/subscription`, { id, input }, id, 'xstate.init');
      if (!created) continue;
      const steps = 2 + Math.floor(Math.random() * 8);
      for (let i = 0; i < steps && Date.now() < until; i++) {
        await this.request(`/v1/entities/subscription/${id}/events`, weighted(), id, undefined);
        await sleep(Math.random() * 300);
      }
    }
  }

  /** One request, retried with the same key until final; true when acknowledged. */
  private async request(path: string, body: Record<string, unknown>, id: string, eventType: string | undefined): Promise<boolean> {
    const key = randomUUID();
    const type = eventType ?? String(body.type);
    const giveUp = Date.now() + 240_000;
    for (let attempt = 0; Date.now() < giveUp; attempt++) {
      if (attempt > 0) {
        this.ledger.retries++;
        await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
      }
      const url = `${this.urls[attempt % this.urls.length]}${path}`;
      let status: number;
      let answer: Record<string, unknown>;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        status = response.status;
        answer = (await response.json()) as Record<string, unknown>;
      } catch {
        continue; // refused connection, reset, timeout: the request may or may not have committed; ask again
      }
      if (status >= 200 && status < 300) {
        const transition = answer.transition as { id?: string; seq?: number } | undefined;
        this.ledger.acks.push({ id, key, eventType: type, transitionId: transition?.id ?? null, seq: transition?.seq ?? (answer.version as number | undefined) ?? null });
        return true;
      }
      if (retryableStatus.has(status) || answer.retryable === true) continue;
      this.ledger.refusals.push({ id, key, eventType: type, code: String(answer.code) });
      return false;
    }
    this.ledger.unanswered++;
    return false;
  }
}

function weighted(): Record<string, unknown> {
  const total = events.reduce((sum, [w]) => sum + w, 0);
  let r = Math.random() * total;
  for (const [w, event] of events) if ((r -= w) < 0) return event;
  return { type: 'RENEW' };
}
