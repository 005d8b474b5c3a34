import { TollgateError } from '../../errors.ts';
import type { Tollgate } from '../../runtime/create-tollgate.ts';
import type { Access } from '../auth.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import { health, readiness } from '../schemas.ts';
import { portsOf } from '../../runtime/ports.ts';

/** A named readiness probe: resolves when the service answers. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  readonly metricsAccess: Access;
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly readinessTimeoutMs: number;
}

const tag = 'operations';

/** Liveness, readiness (Postgres and the configured services) and Prometheus metrics. */
export function healthRoutes(tg: Tollgate, options: HealthOptions): AnyRouteSpec[] {
  const checks: Record<string, ReadinessCheck> = {
    postgres: async () => {
      await portsOf(tg).ping();
    },
    ...options.readiness,
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/healthz',
      operationId: 'liveness',
      summary: 'Liveness: the process answers',
      tag,
      access: 'open',
      success: { status: 200, description: 'Alive', schema: health },
      errors: [],
      handler: async () => ({ status: 'ok' as const }),
    }),
    defineRoute({
      method: 'GET',
      path: '/readyz',
      operationId: 'readiness',
      summary: 'Readiness: Postgres (and Redis when configured) answer',
      tag,
      access: 'open',
      success: { status: 200, description: 'Ready', schema: readiness },
      errors: ['TG_NOT_READY'],
      handler: async () => {
        const results: Record<string, 'ok'> = {};
        for (const [name, check] of Object.entries(checks)) {
          try {
            await withTimeout(check(), options.readinessTimeoutMs);
            results[name] = 'ok';
          } catch (error) {
            throw new TollgateError('TG_NOT_READY', `${name} is not ready: ${(error as Error).message}.`, { check: name });
          }
        }
        return { status: 'ready' as const, checks: results };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics of this process',
      tag,
      access: options.metricsAccess,
      success: { status: 200, description: 'Prometheus text exposition', contentType: 'text/plain; version=0.0.4' },
      errors: [],
      handler: async ({ reply }) => {
        void reply.type('text/plain; version=0.0.4; charset=utf-8');
        return tg.metricsText();
      },
    }),
  ];
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
