import { describeMachine } from '../../http/machine-info.ts';
import { parse } from '../args.ts';
import { loadMachines } from '../runtime.ts';

const usage = 'tollgate machines [--json] [--machines MODULE]';

export const help = `${usage}

Lists the registered machines: name, version, states, the events a caller may send, the effects.
  --json              print the list as JSON
  --machines MODULE   module exporting \`machines\` (default: the config's)`;

export async function run(args: string[]): Promise<number> {
  const { flags } = parse(args, { machines: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: 0, usage });
  const machines = Object.entries(await loadMachines(flags.machines)).map(([name, definition]) => describeMachine(name, definition));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(machines, null, 2)}\n`);
    return 0;
  }
  for (const m of machines) {
    process.stdout.write(
      `${m.name} v${m.version}${m.description ? `  ${m.description}` : ''}\n` +
        `  states:  ${m.states.join(', ')}\n  events:  ${m.events.join(', ')}\n  effects: ${m.effects.join(', ') || '(none)'}\n`,
    );
  }
  return 0;
}
