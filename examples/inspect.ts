import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { createTollgate } from '../src/index.ts';
import { buildServer } from '../src/http/server.ts';
import { machines } from '../machines/index.ts';

// Persisted entities seen by XState inspection tools: `inspect` is called after each commit with
// @xstate.actor / @xstate.event / @xstate.snapshot, as an in-memory actor would emit them.
// Here the events go to a log AND, through @statelyai/inspect's WebSocket inspector, to a tollgate inspector
// (this example serves one itself; point `url` at yours: ws://127.0.0.1:3000/inspector/ws).
const viewer = await createTollgate({ machines, database: { dataDir: 'memory://' } });
await viewer.migrate();
const app = await buildServer(viewer, { auth: { mode: 'open' } });
await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.server.address() as { port: number };

const websocket = createWebSocketInspector({ url: `ws://127.0.0.1:${port}/inspector/ws` });
const log: string[] = [];
const tg = await createTollgate({
  machines,
  database: { dataDir: 'memory://' },
  inspect: (event: InspectionEvent) => {
    log.push(`${event.type} ${event.actorRef.sessionId}`);
    websocket.inspect.next?.(event);
  },
});
await tg.migrate();
await tg.create('subscription', 'sub-1', { customerId: 'cus_1', plan: 'pro' });
await tg.send('subscription', 'sub-1', { type: 'UPGRADE', paymentMethodId: 'pm_1' });
console.log(log.join('\n'));
// @xstate.actor tollgate:subscription:sub-1
// @xstate.event tollgate:subscription:sub-1
// @xstate.snapshot tollgate:subscription:sub-1
// @xstate.event tollgate:subscription:sub-1
// @xstate.snapshot tollgate:subscription:sub-1

// Open http://127.0.0.1:<port>/inspector: "Live actors" lists tollgate:subscription:sub-1 in `active`.
const seen = await fetch(`http://127.0.0.1:${port}/inspector/actors/stream?maxDurationMs=3000`).then((r) => r.text());
console.log(seen.includes('"sessionId":"tollgate:subscription:sub-1"') && seen.includes('"value":"active"')); // true

websocket.stop();
await app.close();
await Promise.all([tg.close(), viewer.close()]);
