import type { Discovery, SeenTransition } from './analyze-log.ts';

interface Node {
  readonly states: Map<string, Node>;
  /** Outgoing transitions of this leaf: event -> the kept transition and the others the log shows for it. */
  readonly on: Map<string, { kept: SeenTransition; others: SeenTransition[] }>;
}

const newNode = (): Node => ({ states: new Map(), on: new Map() });

/**
 * The source of a draft machine module for the discovered lifecycle: `setup({}).createMachine(...)` with the
 * observed states (dotted names nested), each observed transition as an event (frequencies in comments), states no
 * entity left as final; exported as `machines` so it registers with `--machines` and runs `tollgate test-paths`.
 * Where one (state, event) led to several states, the most frequent is kept and the others are listed in a comment.
 */
export function draftModule(name: string, found: Discovery): string {
  if (!/^[a-z][a-z0-9_-]*$/i.test(name)) throw new Error(`'${name}' is not a machine name (letters, digits, _ and -, from a letter)`);
  const root = newNode();
  const nodeOf = (state: string): Node => {
    let node = root;
    for (const key of state.split('.')) node = node.states.get(key) ?? node.states.set(key, newNode()).get(key)!;
    return node;
  };
  for (const state of found.states) nodeOf(state);
  for (const t of found.transitions) {
    const on = nodeOf(t.from).on;
    const entry = on.get(t.event);
    if (!entry) on.set(t.event, { kept: t, others: [] });
    else entry.others.push(t);
  }
  const entered = new Map<string, number>();
  for (const t of found.transitions) entered.set(t.to, (entered.get(t.to) ?? 0) + t.count);
  const finals = new Set(found.finalStates);
  const events = [...new Set(found.transitions.map((t) => t.event))].sort();
  const pct = (t: SeenTransition) => `${t.count} (${(t.share * 100).toFixed(t.share < 0.01 ? 2 : 1)}%)`;

  const render = (node: Node, path: string[], indent: string): string[] => {
    const lines: string[] = [];
    for (const [key, child] of [...node.states].sort(([a], [b]) => a.localeCompare(b))) {
      const full = [...path, key];
      const dotted = full.join('.');
      const dwell = found.dwell[dotted];
      const note = dwell ? ` // left ${dwell.stays} times; dwell p50 ${duration(dwell.p50)}, p99 ${duration(dwell.p99)}` : '';
      lines.push(`${indent}${JSON.stringify(key)}: {${note}`);
      if (child.states.size > 0) {
        lines.push(`${indent}  initial: ${JSON.stringify(initialChild(child, full, found.initial, entered))},`);
        lines.push(`${indent}  states: {`, ...render(child, full, `${indent}    `), `${indent}  },`);
      } else if (finals.has(dotted) && full.length === 1) {
        lines.push(`${indent}  type: 'final',`);
      }
      if (child.on.size > 0) {
        lines.push(`${indent}  on: {`);
        for (const [event, { kept, others }] of [...child.on].sort(([a], [b]) => a.localeCompare(b))) {
          lines.push(`${indent}    ${JSON.stringify(event)}: { target: ${JSON.stringify(`#${name}.${kept.to}`)} }, // ${pct(kept)}${kept.share < 0.001 ? ' RARE: likely a bug' : ''}`);
          for (const o of others) lines.push(`${indent}    // also to '${o.to}': ${pct(o)} (one event, several targets: add a guard)`);
        }
        lines.push(`${indent}  },`);
      }
      lines.push(`${indent}},`);
    }
    return lines;
  };

  return [
    `// Draft of the '${name}' lifecycle, discovered by \`tollgate discover\` from ${found.rows} logged transitions of ${found.entities} entities.`,
    '// Review it before use: name the events, add guards, effects (custom actions) and timers (`after`) where the legacy',
    '// system had them, and a context with an input schema. Frequencies are in the comments.',
    "import { setup } from 'xstate';",
    "import { z } from 'zod';",
    '',
    `const ${camel(name)}Machine = setup({}).createMachine({`,
    `  id: ${JSON.stringify(name)},`,
    `  initial: ${JSON.stringify(found.initial.split('.')[0])},`,
    '  states: {',
    ...render(root, [], '    '),
    '  },',
    '});',
    '',
    'export const machines = {',
    `  ${JSON.stringify(name)}: {`,
    `    machine: ${camel(name)}Machine,`,
    '    version: 1,',
    '    input: z.strictObject({}),',
    `    events: { ${events.map((e) => `${JSON.stringify(e)}: z.strictObject({})`).join(', ')} },`,
    '  },',
    '};',
    '',
  ].join('\n');
}

/** The report: what the log shows, and the Mermaid diagram with frequencies on the edges. */
export function discoveryReport(name: string, found: Discovery): string {
  const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = [
    `# ${name}: the lifecycle a transition log shows`,
    '',
    `${found.rows} logged transitions of ${found.entities} entities; most start in \`${found.initial}\`.`,
    '',
    '```mermaid',
    'stateDiagram-v2',
    `  [*] --> ${id(found.initial)}`,
    ...found.transitions.map((t) => `  ${id(t.from)} --> ${id(t.to)}: ${t.event} (${t.count})`),
    ...found.finalStates.map((s) => `  ${id(s)} --> [*]`),
    '```',
    '',
    '## Transitions',
    '',
    '| from | event | to | count | share |',
    '| --- | --- | --- | --- | --- |',
    ...found.transitions.map((t) => `| ${t.from} | ${t.event} | ${t.to} | ${t.count} | ${(t.share * 100).toFixed(2)}% |`),
    '',
    '## Dwell time per state (stays that ended)',
    '',
    '| state | stays | p50 | p99 |',
    '| --- | --- | --- | --- |',
    ...Object.entries(found.dwell)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, d]) => `| ${s} | ${d.stays} | ${duration(d.p50)} | ${duration(d.p99)} |`),
    '',
    '## Rare paths (under 0.1% of transitions: likely bugs)',
    '',
    ...(found.rare.length === 0 ? ['None.'] : found.rare.map((t) => `- ${t.from} -${t.event}-> ${t.to}: ${t.count} (e.g. ${t.examples.join(', ')})`)),
    '',
    '## Entities whose path breaks the majority\'s',
    '',
    ...(found.outliers.length === 0 ? ['None.'] : found.outliers.slice(0, 50).map((o) => `- ${o.entityId}: ${o.reason}`)),
    ...(found.outliers.length > 50 ? [`- ... and ${found.outliers.length - 50} more`] : []),
    '',
  ];
  return lines.join('\n');
}

function initialChild(node: Node, path: string[], initial: string, entered: Map<string, number>): string {
  const prefix = `${path.join('.')}.`;
  if (initial.startsWith(prefix)) return initial.slice(prefix.length).split('.')[0]!;
  const scores = [...node.states.keys()].map((key) => {
    let n = 0;
    for (const [to, count] of entered) if (to === `${prefix}${key}` || to.startsWith(`${prefix}${key}.`)) n += count;
    return [key, n] as const;
  });
  return scores.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
}

function camel(name: string): string {
  return name.replace(/[-_]+([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 2 * 86_400_000) return `${(ms / 3600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}
