// `npm start` for now: the traffic demo in embedded mode (no services needed).
import { runDemo } from './run-demo.ts';

const summary = await runDemo({ subscriptions: Number(process.env.DEMO_SUBSCRIPTIONS ?? 300) });
process.exitCode = summary.ok ? 0 : 1;
