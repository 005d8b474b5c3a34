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
  const ports = portsOf(tg) as { send: TestAccess['send'] };
  return {
    client: ctx.client,
    schema: ctx.schema,
    metrics: ctx.metrics,
    context: ctx,
    // The port's own send, read and replaced in place: a test that swaps it (to fail one send) swaps what the workers call.
    get send() {
      return ports.send;
    },
    set send(fn) {
      ports.send = fn;
    },
  };
}
