/**
 * The soak's traffic: requests to `serve` at a fixed rate (open loop: the schedule does not wait for answers, so a
 * slow server shows as latency and a lower achieved rate, not as a politely slower client). Each request is the next
 * step of one subscription's life, so the mix holds creates, events with effects (charges, emails) and short timers
 * (trial and grace periods of seconds) that fire during the run:
 * - timed (2 in 5): a trial of 2-8 s, a payment method on file 7 times in 10 (the trial timer converts or cancels it),
 *   then a renewal, a failed payment (grace of 2-6 s: its timer cancels unless the dunning charge lands first), a
 *   renewal and a cancel;
 * - driven: a one-hour trial (its timer stays in Postgres and is cancelled by the upgrade), then upgrade, renew,
 *   pause, resume, renew, a failed payment, renew, cancel.
 * A step whose state moved on meanwhile (a timer fired, a follow-up landed) is refused as illegal: still a request
 * through the gate, counted apart. An entity has one request in flight at most; each answer is followed by a pause of
 * 0.3-1.5 s before its next step (a second more after a step that starts a charge, the trial's length after a timed
 * create).
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';

type Step = { readonly path: 'create' } | { readonly path: 'event'; readonly body: Record<string, unknown> };

interface Entity {
  readonly id: string;
  readonly steps: readonly Step[];
  readonly input: Record<string, unknown>;
  next: number;
  readyAt: number;
}

/** What one window of traffic got. */
export interface Window {
  /** Requests sent in the window. */
  readonly sent: number;
  /** Answers: 2xx, 4xx (refusals, mostly illegal steps), 5xx and requests that got no answer (network, timeout). */
  readonly ok: number;
  readonly refused: number;
  readonly serverErrors: number;
  readonly failed: number;
  /** Requests the schedule owed but could not send because `maxInFlight` were already waiting. */
  readonly missed: number;
  /** Client-side latency of every answered request, in ms. */
  readonly latencies: number[];
  readonly seconds: number;
}

const event = (type: string, extra: Record<string, unknown> = {}): Step => ({ path: 'event', body: { type, ...extra } });

/** Steady traffic at `rate` requests per second until `stop()`. */
export class SteadyLoad {
  private readonly agent: http.Agent;
  private readonly ready: Entity[] = [];
  private readonly url: URL;
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private issued = 0;
  private inFlight = 0;
  private serial = 0;
  private window = SteadyLoad.empty();
  private windowStart = 0;
  private readonly idle = new Set<() => void>();
  /** The first 20 5xx answers and requests left unanswered, with what came back. */
  readonly problems: string[] = [];

  constructor(
    url: string,
    private readonly apiKey: string,
    private readonly rate: number,
    private readonly maxInFlight = 256,
  ) {
    this.url = new URL(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  }

  private static empty() {
    return { sent: 0, ok: 0, refused: 0, serverErrors: 0, failed: 0, missed: 0, latencies: [] as number[] };
  }

  start(): void {
    this.started = performance.now();
    this.windowStart = this.started;
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** The figures since the last call, and a new window. */
  takeWindow(): Window {
    const now = performance.now();
    const taken = { ...this.window, seconds: (now - this.windowStart) / 1000 };
    this.window = SteadyLoad.empty();
    this.windowStart = now;
    return taken;
  }

  /** Stops sending; resolves once every request in flight is answered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
    this.agent.destroy();
  }

  private tick(): void {
    const owed = Math.floor(((performance.now() - this.started) / 1000) * this.rate) - this.issued;
    const now = Date.now();
    for (let i = 0; i < owed; i++) {
      this.issued++;
      if (this.inFlight >= this.maxInFlight) {
        this.window.missed++;
        continue;
      }
      this.send(this.nextEntity(now));
    }
  }

  /** The entity that has waited longest past its pause, or a new one. */
  private nextEntity(now: number): Entity {
    const head = this.ready[0];
    if (head && head.readyAt <= now) return this.popReady();
    const id = `soak-${(this.serial++).toString(36)}`;
    const timed = Math.random() < 0.4;
    const steps: Step[] = timed
      ? [{ path: 'create' }, event('RENEW'), event('PAYMENT_FAILED', { reason: 'soak' }), event('RENEW'), event('CANCEL', { reason: 'soak' })]
      : [{ path: 'create' }, event('UPGRADE', { paymentMethodId: 'pm_soak' }), event('RENEW'), event('PAUSE'), event('RESUME'), event('RENEW'),
          event('PAYMENT_FAILED', { reason: 'soak' }), event('RENEW'), event('CANCEL', { reason: 'soak' })];
    const input = {
      customerId: `cust-${id}`,
      plan: 'pro',
      trialPeriodMs: timed ? 2000 + Math.floor(Math.random() * 6000) : 3_600_000,
      gracePeriodMs: 2000 + Math.floor(Math.random() * 4000),
      ...(!timed || Math.random() < 0.7 ? { paymentMethodId: 'pm_soak' } : {}),
    };
    return { id, steps, input, next: 0, readyAt: now };
  }

  // `ready` is a binary min-heap on readyAt: the entity that has waited longest comes first.
  private pushReady(entity: Entity): void {
    const heap = this.ready;
    heap.push(entity);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entity).readyAt <= entity.readyAt) break;
      heap[i] = heap[parent] as Entity;
      heap[parent] = entity;
      i = parent;
    }
  }

  private popReady(): Entity {
    const heap = this.ready;
    const top = heap[0] as Entity;
    const last = heap.pop() as Entity;
    if (heap.length === 0) return top;
    heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < heap.length && (heap[l] as Entity).readyAt < (heap[min] as Entity).readyAt) min = l;
      if (r < heap.length && (heap[r] as Entity).readyAt < (heap[min] as Entity).readyAt) min = r;
      if (min === i) break;
      [heap[i], heap[min]] = [heap[min] as Entity, heap[i] as Entity];
      i = min;
    }
    return top;
  }

  private send(entity: Entity): void {
    const step = entity.steps[entity.next] as Step;
    const body =
      step.path === 'create'
        ? { id: entity.id, input: entity.input }
        : step.body;
    const path = step.path === 'create' ? '/v1/entities/subscription' : `/v1/entities/subscription/${entity.id}/events`;
    const payload = JSON.stringify(body);
    this.inFlight++;
    this.window.sent++;
    const started = performance.now();
    let answered = false;
    const done = (status: number | undefined, detail?: string) => {
      if (answered) return;
      answered = true;
      this.inFlight--;
      if (detail && this.problems.length < 20) this.problems.push(`${step.path === 'create' ? 'create' : String(step.body.type)} ${entity.id}: ${detail}`);
      if (status === undefined) this.window.failed++;
      else {
        this.window.latencies.push(performance.now() - started);
        if (status < 300) this.window.ok++;
        else if (status < 500) this.window.refused++;
        else this.window.serverErrors++;
      }
      entity.next++;
      // A create that got no answer is not retried: the entity is dropped (its id may or may not exist).
      const created = !(step.path === 'create' && (status === undefined || status >= 300));
      if (created && entity.next < entity.steps.length) {
        // A timed trial's next step waits for its timer; a step that starts a charge gives its follow-up a second.
        const type = step.path === 'event' ? step.body.type : undefined;
        const wait = step.path === 'create' ? Number(entity.input.trialPeriodMs) < 60_000 ? Number(entity.input.trialPeriodMs) + 1000 : 300
          : type === 'RESUME' || type === 'PAYMENT_FAILED' || type === 'UPGRADE' ? 1000 : 300;
        entity.readyAt = Date.now() + wait + Math.random() * 1200;
        this.pushReady(entity);
      }
      if (this.inFlight === 0) {
        for (const resolve of this.idle) resolve();
        this.idle.clear();
      }
    };
    const request = http.request(
      {
        host: this.url.hostname,
        port: this.url.port,
        path,
        method: 'POST',
        agent: this.agent,
        timeout: 60_000,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'idempotency-key': randomUUID(),
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        let text = '';
        // Only a 5xx body is kept (for the report); the rest is drained unread.
        if (status >= 500) response.on('data', (chunk: Buffer) => void (text.length < 300 && (text += chunk.toString())));
        else response.resume();
        response.on('end', () => done(status, status >= 500 ? `${status} ${text.slice(0, 300)}` : undefined));
        response.on('error', (error) => done(undefined, error.message));
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer in 60 s')));
    request.on('error', (error) => done(undefined, error.message));
    request.end(payload);
  }
}
