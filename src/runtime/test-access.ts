import type { Registry } from 'prom-client';
import type { SqlClient } from '../store/sql-client.ts';
import type { Tollgate } from './create-tollgate.ts';
import type { InternalSendOptions, SendResult } from './gate.ts';
import { contextOf, portsOf } from './ports.ts';
import type { RuntimeContext } from './runtime-context.ts';

/** What tests and benchmarks read of a runtime to check the database behind it. */
export interface TestAccess {
  readonly client: SqlClient;
  readonly schema: string;
  readonly metrics: { readonly registry: Registry };
  readonly context: RuntimeContext;
  send(machine: string, id: string, event: unknown, options?: InternalSendOptions): Promise<SendResult>;
}

/**
 * The runtime's database client, schema, metrics and context, for tests and benchmarks that set up or check rows
 * directly. Not for tollgate's own code: a lint rule allows it in test/ and bench/ only.
 */
export function testAccess(tg: Tollgate): TestAccess {
  const ctx = contextOf(tg);
  return { client: ctx.client, schema: ctx.schema, metrics: ctx.metrics, context: ctx, send: portsOf(tg).send };
}
