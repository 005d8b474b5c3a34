// The repository's own app: the demo machines and the demo's effect handlers, so `npm start`, `npm run demo` and
// `./bin/tollgate <command>` work here as they do in an app with its own config.
import { defineConfig } from './src/index.ts';
import { registerDemoHandlers } from './machines/demo-handlers.ts';
import { machines, policies } from './machines/index.ts';

export default defineConfig({
  machines,
  policies,
  handlers: (tg) => registerDemoHandlers(tg, { failureRate: Number(process.env.TOLLGATE_DEMO_FAILURE_RATE ?? 0) }),
});
