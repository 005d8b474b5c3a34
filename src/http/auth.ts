import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TollgateError } from '../errors.ts';
import { firstIssue } from '../zod-issue.ts';

/** What a key may do. Each scope includes the ones before it: `admin` can write, `write` can read. */
export const scopes = ['read', 'write', 'admin'] as const;
/** One key scope: `read`, `write` or `admin` (each includes the ones before it). */
export type Scope = (typeof scopes)[number];

/** What a route needs: no key at all (`open`), or a key with at least this scope. */
export type Access = 'open' | Scope;

/**
 * One configured API key, as stored at rest: the SHA-256 of the key, never the key.
 *
 * @example
 * { "name": "billing-app", "hash": "sha256:9f86d0…", "scopes": ["write"], "machines": ["subscription"] }
 */
export interface ApiKeyEntry {
  /** Shown in logs and recorded as the `actor` of the transitions the key sends. */
  readonly name: string;
  /** `sha256:` + the hex SHA-256 of the key (`tollgate keys hash <key>` prints it). */
  readonly hash: string;
  readonly scopes: readonly Scope[];
  /** Machines the key may touch. Default: all. */
  readonly machines?: readonly string[];
}

const entrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.@:-]{1,100}$/, 'letters, digits and _ . @ : - (1 to 100)'),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, "'sha256:' and 64 lower-case hex digits"),
  scopes: z.array(z.enum(scopes)).min(1),
  machines: z.array(z.string().min(1)).min(1).optional(),
});
const listSchema = z.array(entrySchema);
const fileSchema = z.strictObject({ keys: listSchema });

/** `sha256:<hex>` of a key: what the key file stores. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new random key (`tg_` + 32 url-safe characters, 192 bits). */
export function generateApiKey(): string {
  return `tg_${randomBytes(24).toString('base64url')}`;
}

/**
 * Parses a key list (a JSON array of entries, or `{ "keys": [...] }`), failing with TG_INVALID_OPTIONS that
 * names `source` and the bad field.
 */
export function parseApiKeys(json: string, source: string): ApiKeyEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new TollgateError('TG_INVALID_OPTIONS', `API keys from ${source} are not valid JSON: ${(error as Error).message}.`, { source });
  }
  // Two schemas rather than a union, so an error names the field inside the list, not "(root)".
  const parsed = Array.isArray(raw) ? listSchema.safeParse(raw) : fileSchema.safeParse(raw);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, '(root)');
    throw new TollgateError(
      'TG_INVALID_OPTIONS',
      `API keys from ${source}: '${field}' is invalid: ${message}. Expected a JSON array of ` +
        `{name, hash: "sha256:<hex>", scopes: ["read"|"write"|"admin"], machines?: [...]} (tollgate keys new prints one).`,
      { source, field },
    );
  }
  const entries = Array.isArray(parsed.data) ? parsed.data : (parsed.data as z.output<typeof fileSchema>).keys;
  for (const field of ['name', 'hash'] as const) {
    const seen = new Set<string>();
    for (const entry of entries) {
      if (seen.has(entry[field])) {
        throw new TollgateError('TG_INVALID_OPTIONS', `API keys from ${source}: two keys have the same ${field} '${entry[field]}'.`, { source });
      }
      seen.add(entry[field]);
    }
  }
  return entries;
}

/** Who is calling, once authenticated. */
export interface Caller {
  /** The key's name; null on an open server. */
  readonly name: string | null;
  /** Rank of the key's highest scope (index in `scopes`). */
  readonly rank: number;
  /** Machines the caller may touch; null for all. */
  readonly machines: ReadonlySet<string> | null;
}

/**
 * How the server authenticates. `keys`: every non-open route needs `Authorization: Bearer <key>`. `open`: no keys,
 * for the embedded dev mode; the server then answers loopback clients only, so an open server is never reachable
 * from another host even when bound to a public address by mistake.
 */
export type AuthOptions = { readonly mode: 'keys'; readonly keys: readonly ApiKeyEntry[] } | { readonly mode: 'open' };

/** The request facts authentication reads. */
export interface AuthRequest {
  readonly authorization: string | undefined;
  readonly remoteAddress: string | undefined;
}

const openCaller: Caller = { name: null, rank: scopes.indexOf('admin'), machines: null };
const anonymous: Caller = { name: null, rank: -1, machines: null };

/** Returns a function that authenticates a request for a route's access level, or throws 401 / 403. */
export function createAuthenticator(options: AuthOptions): (request: AuthRequest, access: Access) => Caller {
  if (options.mode === 'open') {
    return (request, access) => {
      if (access !== 'open' && !isLoopback(request.remoteAddress)) {
        throw new TollgateError(
          'TG_FORBIDDEN',
          'This tollgate server runs without API keys and answers loopback clients only. Configure keys ' +
            '(TOLLGATE_API_KEYS or --keys-file) to serve other hosts.',
        );
      }
      return openCaller;
    };
  }
  const byHash = new Map<string, Caller>();
  for (const key of options.keys) {
    const rank = Math.max(...key.scopes.map((scope) => scopes.indexOf(scope)));
    byHash.set(key.hash, { name: key.name, rank, machines: key.machines ? new Set(key.machines) : null });
  }
  return (request, access) => {
    if (access === 'open') return anonymous;
    const token = bearerToken(request.authorization);
    // A map lookup by SHA-256 digest leaks nothing useful through timing: the digest of a guess says nothing
    // about the digest of the key.
    const caller = token === undefined ? undefined : byHash.get(hashApiKey(token));
    if (!caller) {
      throw new TollgateError(
        'TG_UNAUTHENTICATED',
        token === undefined
          ? "This route needs an API key: send 'Authorization: Bearer <key>'."
          : 'The API key is not one this server knows. Check the key, or ask for one (tollgate keys new).',
      );
    }
    requireScope(caller, access);
    return caller;
  };
}

/** Throws TG_FORBIDDEN unless the caller's scope reaches `scope`. */
export function requireScope(caller: Caller, scope: Scope): void {
  if (caller.rank >= scopes.indexOf(scope)) return;
  const has = caller.rank >= 0 ? scopes[caller.rank] : 'none';
  throw new TollgateError(
    'TG_FORBIDDEN',
    `The API key '${caller.name ?? '(none)'}' has scope '${has}'; this route needs '${scope}'.`,
    { key: caller.name, needed: scope },
  );
}

/** Throws TG_FORBIDDEN when the caller's key is limited to other machines. */
export function requireMachine(caller: Caller, machine: string): void {
  if (caller.machines === null || caller.machines.has(machine)) return;
  throw new TollgateError(
    'TG_FORBIDDEN',
    `The API key '${caller.name ?? '(none)'}' may not access machine '${machine.slice(0, 100)}'. It may access: ` +
      `${[...caller.machines].join(', ')}.`,
    { key: caller.name, machine },
  );
}

/** Whether the caller may see `machine` (for listings). */
export function canAccessMachine(caller: Caller, machine: string): boolean {
  return caller.machines === null || caller.machines.has(machine);
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer[ ]+(\S{1,512})\s*$/i.exec(header);
  return match?.[1];
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
