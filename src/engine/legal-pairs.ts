import { createMachine, initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { stateToString } from './state-value.ts';

type Config = Record<string, unknown>;

/** Bound on the state configurations explored (parallel regions multiply them). */
const maxConfigurations = 5_000;

/**
 * Every (from, to) pair of state strings (engine/state-value.ts) that one event can take the machine through,
 * whatever its guards and context say: what an override may do without `tollgate.override_illegal`.
 *
 * Built on a probe copy of the machine: every transition candidate (`on`, `after`, `always`, `onDone`) becomes an
 * event of its own, without guards or actions, on the same state node with the same targets; XState then resolves
 * each exactly as the machine would (compound targets to their initial leaves, parallel regions kept, history).
 * A breadth-first walk over the reachable configurations collects the pairs. Eventless (`always`) hops count as a
 * step of their own: an override may stop in a state the machine passes through.
 */
export function legalPairs(machine: AnyStateMachine): Array<readonly [string, string]> {
  let next = 0;
  const probes: string[] = [];
  const probe = (candidate: unknown): Config | undefined => {
    if (candidate === undefined || candidate === null) return undefined;
    if (typeof candidate === 'string' || Array.isArray(candidate)) return { target: candidate };
    const c = candidate as Config;
    return { ...(c.target !== undefined ? { target: c.target } : {}), ...(c.reenter !== undefined ? { reenter: c.reenter } : {}) };
  };
  const candidates = (value: unknown): unknown[] => (Array.isArray(value) && value.every((v) => typeof v === 'object') ? value : [value]);
  const rewrite = (node: Config): Config => {
    const on: Record<string, Config> = {};
    const add = (value: unknown) => {
      for (const candidate of candidates(value)) {
        const t = probe(candidate);
        if (!t) continue;
        const name = `probe.${next++}`;
        probes.push(name);
        on[name] = t;
      }
    };
    for (const value of Object.values((node.on as Config | undefined) ?? {})) add(value);
    for (const value of Object.values((node.after as Config | undefined) ?? {})) add(value);
    if (node.always !== undefined) add(node.always);
    if (node.onDone !== undefined) add(node.onDone);
    const states = node.states as Record<string, Config> | undefined;
    return {
      ...(node.id !== undefined ? { id: node.id } : {}),
      ...(node.type !== undefined ? { type: node.type } : {}),
      ...(node.initial !== undefined ? { initial: node.initial } : {}),
      ...(node.history !== undefined ? { history: node.history } : {}),
      ...(node.type === 'history' && node.target !== undefined ? { target: node.target } : {}),
      on,
      ...(states ? { states: Object.fromEntries(Object.entries(states).map(([key, child]) => [key, rewrite(child)])) } : {}),
    };
  };
  const config = machine.config as Config;
  const probeMachine = createMachine({ ...rewrite(config), id: (config.id as string | undefined) ?? machine.id } as Parameters<typeof createMachine>[0]);

  const key = (s: AnyMachineSnapshot) =>
    `${stateToString(s.value)}|${Object.entries((s as unknown as { historyValue?: Record<string, Array<{ id: string }>> }).historyValue ?? {})
      .map(([k, nodes]) => `${k}:${nodes.map((n) => n.id).join('+')}`)
      .join(';')}`;
  const [initial] = initialTransition(probeMachine);
  const seen = new Set([key(initial)]);
  const queue: AnyMachineSnapshot[] = [initial];
  const pairs = new Map<string, readonly [string, string]>();
  while (queue.length > 0 && seen.size <= maxConfigurations) {
    const snapshot = queue.shift() as AnyMachineSnapshot;
    if (snapshot.status !== 'active') continue;
    const from = stateToString(snapshot.value);
    for (const type of probes) {
      if (!snapshot.can({ type })) continue;
      const [after] = transition(probeMachine, snapshot, { type });
      const to = stateToString(after.value);
      pairs.set(`${from}\n${to}`, [from, to]);
      const k = key(after);
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(after);
      }
    }
  }
  return [...pairs.values()].sort((a, b) => (a[0] === b[0] ? a[1].localeCompare(b[1]) : a[0].localeCompare(b[0])));
}
