import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos/run.ts';

// The 90-second variant of `npm run chaos` (bench/chaos/): its own Postgres cluster and Redis on free ports, serve x2,
// worker x2 and a relay as real processes under HTTP traffic, one fault of each kind (every process kind killed,
// a worker stalled past its lock, Redis killed empty and stopped, Postgres crashed and restarted, the entities table
// locked, every connection slot taken, then all at once), and every invariant of "nothing lost, nothing doubled"
// checked after. CHAOS_SEED replays another fault schedule.
describe('chaos, quick', () => {
  it('one fault of each kind under traffic: every invariant holds', async () => {
    const lines: string[] = [];
    const seed = Number(process.env.CHAOS_SEED ?? 1);
    const code = await runChaos({ minutes: 0, seed, quick: true, print: (line) => lines.push(line) });
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.join('\n')).toContain(`chaos: all invariants hold (seed ${seed})`);
  }, 600_000);
});
