import { parse, UsageError } from '../args.ts';
import { mermaidDiagram } from '../mermaid.ts';
import { loadMachines } from '../runtime.ts';

const usage = 'tollgate diagram <machine> [--machines MODULE]';

export const help = `${usage}

Prints the machine as a Mermaid stateDiagram-v2: compound states nested, parallel regions separated by --,
transitions labelled "EVENT [guard] / effects". Paste it into a Markdown \`\`\`mermaid block.
  --machines MODULE   module exporting \`machines\` (default: machines/index.ts)`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { machines: { type: 'string' } }, { min: 1, max: 1, usage });
  const name = positionals[0] as string;
  const machines = await loadMachines(flags.machines);
  const definition = Object.hasOwn(machines, name) ? machines[name] : undefined;
  if (!definition) throw new UsageError(`no machine '${name}'. Machines: ${Object.keys(machines).join(', ')}.`);
  process.stdout.write(`${mermaidDiagram(definition.machine)}\n`);
  return 0;
}
