import { ProblemError, UnreachableError, isUnreachable } from './exit.ts';

/** Flags of the commands that talk to a running server. */
export const clientFlags = {
  url: { type: 'string' },
  key: { type: 'string' },
} as const;

export const clientFlagsHelp = `  --url URL           the tollgate API (default: $TOLLGATE_URL or http://127.0.0.1:3000)
  --key KEY           API key (default: $TOLLGATE_API_KEY); not needed against \`tollgate dev\` on this machine`;

export interface ApiClient {
  /** Calls the API; resolves to the JSON body, or throws ProblemError (exit 1) or UnreachableError (exit 3). */
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** Like `request`, for a route that answers text (`/metrics`). */
  requestText(method: 'GET', path: string): Promise<string>;
}

/** A client for `--url` / `--key` (or TOLLGATE_URL / TOLLGATE_API_KEY). */
export function apiClient(flags: { readonly url?: string; readonly key?: string }): ApiClient {
  const base = (flags.url ?? process.env.TOLLGATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const key = flags.key ?? process.env.TOLLGATE_API_KEY;
  const call = async (method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string>): Promise<string> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          accept: 'application/json, application/problem+json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      if (isUnreachable(error) || (error as Error).name === 'TimeoutError') {
        throw new UnreachableError(`the tollgate API at ${base} (is \`tollgate dev\` or \`tollgate serve\` running?)`, { cause: error });
      }
      throw error;
    }
    const text = await response.text();
    if (!response.ok) {
      const problem = (parseJson(text) ?? {}) as { code?: unknown; detail?: unknown };
      if (typeof problem.code === 'string') throw new ProblemError(problem.code, response.status, String(problem.detail ?? ''));
      throw new ProblemError(`HTTP_${response.status}`, response.status, `${method} ${base}${path} answered ${response.status}: ${text.slice(0, 200)}`);
    }
    return text;
  };
  return {
    request: async <T>(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) =>
      parseJson(await call(method, path, body, headers)) as T,
    requestText: (method, path) => call(method, path, undefined, {}),
  };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** `/v1/entities/<machine>/<id>` with both parts escaped. */
export function entityPath(machine: string, id: string): string {
  return `/v1/entities/${encodeURIComponent(machine)}/${encodeURIComponent(id)}`;
}
