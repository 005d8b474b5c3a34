import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { machines } from '../../machines/index.ts';

// What the runtime can persist: assign changes context, raise/cancel become timer rows. Everything else
// (invoke, spawnChild, sendTo, emit, log, enqueueActions, inline functions) would run outside the outbox.
const ALLOWED_BUILTINS = new Set(['xstate.assign', 'xstate.raise', 'xstate.cancel']);

const walk = (node: AnyStateNode): AnyStateNode[] => [node, ...Object.values(node.states).flatMap(walk)];

function actionsOf(node: AnyStateNode): unknown[] {
  const transitions = [...node.transitions.values()].flat().concat(node.always ?? []);
  return [...node.entry, ...node.exit, ...transitions.flatMap((t) => t.actions)];
}

/** Why an action is not allowed, or null. */
function refuse(machine: AnyStateMachine, action: unknown): string | null {
  const implementations = machine.implementations.actions as Record<string, unknown>;
  // Named actions are a string or a `{ type, params }` object; anything else is an inline action.
  const name =
    typeof action === 'string'
      ? action
      : typeof action === 'object' && action !== null && 'type' in action
        ? String(action.type)
        : null;
  const impl = name === null ? action : implementations[name];
  if (name !== null && impl === undefined) return `${name} has no implementation in setup({ actions })`;
  if (typeof impl !== 'function') return `${String(name)} is not a function`;
  const builtin = (impl as { type?: unknown }).type;
  if (builtin === undefined) return name === null ? 'inline function action' : null;
  return ALLOWED_BUILTINS.has(String(builtin)) ? null : `built-in ${String(builtin)}`;
}

const entries = Object.entries(machines);

describe('machine registry', () => {
  it.each(entries)('%s: registry name is the machine id', (name, def) => {
    expect(def.machine.id).toBe(name);
    expect(def.version).toBe(1);
  });

  it.each(entries)('%s: only custom actions, assign, raise and cancel; no invoke', (_name, def) => {
    const problems = walk(def.machine.root).flatMap((node) => [
      ...(node.invoke.length > 0 ? [`${node.id}: invoke`] : []),
      ...actionsOf(node).flatMap((action) => {
        const why = refuse(def.machine, action);
        return why === null ? [] : [`${node.id}: ${why}`];
      }),
    ]);
    expect(problems).toEqual([]);
  });

  it.each(entries)('%s: `events` lists exactly the external events some state handles', (_name, def) => {
    const handled = new Set(
      walk(def.machine.root).flatMap((node) => [...node.transitions.keys()].filter((t) => !t.startsWith('xstate.'))),
    );
    expect(new Set(Object.keys(def.events))).toEqual(handled);
  });

  it.each(entries)('%s: compensation events are sendable events', (_name, def) => {
    for (const event of Object.values(def.compensations ?? {})) expect(Object.keys(def.events)).toContain(event);
  });

  it.each(entries)('%s: meta.maxDwell, where given, is a positive number of ms', (_name, def) => {
    for (const node of walk(def.machine.root)) {
      const meta: unknown = node.meta;
      if (meta === undefined) continue;
      expect(meta).toEqual({ maxDwell: expect.any(Number) });
      expect((meta as { maxDwell: number }).maxDwell).toBeGreaterThan(0);
    }
  });
});

describe('docs/machines.md', () => {
  const docs = readFileSync(new URL('../../docs/machines.md', import.meta.url), 'utf8');

  // The TSDoc table is the source; the doc page must carry it unchanged.
  it.each(entries)('%s: carries the contract table from the machine file', (name) => {
    const source = readFileSync(new URL(`../../machines/${name}.ts`, import.meta.url), 'utf8');
    const table = source
      .split('\n')
      .filter((line) => line.startsWith(' * |'))
      .map((line) => line.slice(3))
      .join('\n');
    expect(table.split('\n').length).toBeGreaterThan(3);
    expect(docs).toContain(table);
  });
});
