import { generateApiKey, hashApiKey, scopes, type ApiKeyEntry, type Scope } from '../../http/auth.ts';
import { parse, UsageError } from '../args.ts';

const usage = 'tollgate keys new|hash [<key>] --name NAME --scopes read,write,admin [--machines a,b]';

export const help = `${usage}

Makes API key entries. The server stores only the SHA-256 of a key: put the printed entry in the keys file
(a JSON array; --keys-file) or in TOLLGATE_API_KEYS, and give the key itself to the client.
  keys new            generate a random key; prints the key (stderr) and its entry (stdout)
  keys hash <key>     the entry for a key you chose
  --name NAME         recorded as the actor of the transitions the key sends
  --scopes LIST       read, write, admin (each includes the ones before it); default read
  --machines LIST     machines the key may touch (default: all)`;

export async function run(args: string[]): Promise<number> {
  const { flags, positionals } = parse(
    args,
    { name: { type: 'string' }, scopes: { type: 'string' }, machines: { type: 'string' } },
    { min: 1, max: 2, usage },
  );
  const [action, given] = positionals as [string, string | undefined];
  if (action !== 'new' && action !== 'hash') throw new UsageError(`unknown action '${action}'. Usage: ${usage}`);
  if (action === 'hash' && given === undefined) throw new UsageError(`keys hash needs the key. Usage: ${usage}`);
  if (action === 'new' && given !== undefined) throw new UsageError(`keys new takes no key. Usage: ${usage}`);
  const name = flags.name;
  if (!name) throw new UsageError(`--name is required. Usage: ${usage}`);
  const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);
  const keyScopes = list(flags.scopes ?? 'read');
  const bad = keyScopes.find((s) => !(scopes as readonly string[]).includes(s));
  if (bad) throw new UsageError(`unknown scope '${bad}': use read, write or admin.`);
  const key = given ?? generateApiKey();
  const entry: ApiKeyEntry = {
    name,
    hash: hashApiKey(key),
    scopes: keyScopes as Scope[],
    ...(flags.machines ? { machines: list(flags.machines) } : {}),
  };
  if (action === 'new') process.stderr.write(`key (give it to the client; it is not stored): ${key}\n`);
  process.stdout.write(`${JSON.stringify(entry)}\n`);
  return 0;
}
