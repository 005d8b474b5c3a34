import { parse, UsageError } from '../args.ts';
import { apiClient, clientFlags } from '../client.ts';
import { mermaidDiagram } from '../../introspect/mermaid.ts';
import { loadMachines } from '../runtime.ts';

const usage = 'tollgate diagram <machine> [--machines MODULE] [--url URL [--key KEY]]';

export const help = `${usage}

Prints the machine as a Mermaid stateDiagram-v2: compound states nested, parallel regions separated by --,
transitions labelled "EVENT [guard] / effects". Paste it into a Markdown \`\`\`mermaid block.
With --url, asks a running server (the inspector, GET /v1/machines/{machine}/diagram) and each state's label also
says how many entities are in it now.
  --machines MODULE   module exporting \`machines\` (default: the config's)
  --url URL           a running tollgate API: draw with live entity counts
  --key KEY           API key for --url, read scope (default: $TOLLGATE_API_KEY)`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { machines: { type: 'string' }, ...clientFlags }, { min: 1, max: 1, usage });
  const name = positionals[0] as string;
  if (flags.url !== undefined) {
    const { mermaid } = await apiClient(flags).request<{ mermaid: string }>('GET', `/v1/machines/${encodeURIComponent(name)}/diagram`);
    process.stdout.write(`${mermaid}\n`);
    return 0;
  }
  const machines = await loadMachines(flags.machines);
  const definition = Object.hasOwn(machines, name) ? machines[name] : undefined;
  if (!definition) throw new UsageError(`no machine '${name}'. Machines: ${Object.keys(machines).join(', ')}.`);
  process.stdout.write(`${mermaidDiagram(definition.machine)}\n`);
  return 0;
}
