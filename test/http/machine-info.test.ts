import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { describeMachineInDetail } from '../../src/introspect/machine-info.ts';

describe('GET /v1/machines/{machine} body (describeMachineInDetail)', () => {
  for (const [name, definition] of Object.entries(machines)) {
    it(`${name}: the definition is compact (under 50 KB) and names states by id`, () => {
      const started = process.hrtime.bigint();
      const detail = describeMachineInDetail(name, definition);
      const body = JSON.stringify(detail);
      // Serialising state nodes whole (through their parent links) made these 3 to 10 MB and 120-260 ms each.
      expect(body.length).toBeLessThan(50_000);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
      const states = (detail.definition as { states: Record<string, { id: string; on?: Record<string, Array<{ target: unknown; source: unknown }>> }> }).states;
      const withTransitions = Object.values(states).find((state) => state.on && Object.keys(state.on).length > 0);
      const first = Object.values(withTransitions?.on ?? {})[0]?.[0];
      expect(first?.source).toBe(`#${withTransitions?.id}`);
      expect(body).not.toMatch(/"parent":/);
    });
  }
});
