import { describeMachine, describeMachineInDetail } from '../../introspect/machine-info.ts';
import { parse, UsageError } from '../args.ts';
import { loadMachines } from '../runtime.ts';

const usage = 'tollgate machines [machine] [--json] [--machines MODULE]';

export const help = `${usage}

Lists the registered machines: name, version, states, the events a caller may send, the effects. With a machine
name, that machine alone; with --json too, its compact definition as GET /v1/machines/{machine} answers it (states,
events, their JSON Schemas, the XState definition).
  --json              print as JSON
  --machines MODULE   module exporting \`machines\` (default: the config's)`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { machines: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: 1, usage });
  const registry = await loadMachines(flags.machines);
  const name = positionals[0];
  if (name !== undefined && !Object.hasOwn(registry, name)) throw new UsageError(`no machine '${name}'. Machines: ${Object.keys(registry).join(', ')}.`);
  const chosen = Object.entries(registry).filter(([n]) => name === undefined || n === name);
  if (flags.json) {
    const printed = name === undefined ? chosen.map(([n, d]) => describeMachine(n, d)) : describeMachineInDetail(name, registry[name]!);
    process.stdout.write(`${JSON.stringify(printed, null, 2)}\n`);
    return 0;
  }
  for (const m of chosen.map(([n, d]) => describeMachine(n, d))) {
    process.stdout.write(
      `${m.name} v${m.version}${m.description ? `  ${m.description}` : ''}\n` +
        `  states:  ${m.states.join(', ')}\n  events:  ${m.events.join(', ')}\n  effects: ${m.effects.join(', ') || '(none)'}\n`,
    );
  }
  return 0;
}
