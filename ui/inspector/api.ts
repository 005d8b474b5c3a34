/** The inspector's calls to tollgate's HTTP API, relative to the page (so a mounted prefix works). */

/** On a keyed server the page is opened as /inspector?access_token=<key>; the key then goes with every call. */
const token = new URLSearchParams(location.search).get('access_token');

export function apiUrl(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
  if (token && path.includes('stream')) params.set('access_token', token);
  const q = params.toString();
  return `${path}${q ? `?${q}` : ''}`;
}

export async function get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
  const response = await fetch(apiUrl(path, query), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = (await response.json()) as T & { detail?: string };
  if (!response.ok) throw new Error(body.detail ?? `${response.status}`);
  return body;
}

export type StateValue = string | { [key: string]: StateValue };

export interface GraphNode {
  path: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  history: 'shallow' | 'deep' | null;
  initial: boolean;
  maxDwellMs: number | null;
  children: GraphNode[];
}
export interface GraphEdge {
  id: string;
  source: string;
  targets: string[];
  event: string;
  guard: string | null;
  effects: string[];
}
export interface MachineGraph {
  name: string;
  root: GraphNode;
  edges: GraphEdge[];
}
export interface StateStats {
  count: number;
  stuck: { count: number; maxOverMs: number | null } | null;
  refusals: Array<{ event: string; code: string; count: number }>;
  effects: { pending: number; dispatched: number; failed: number };
}
export interface MachineStats {
  machine: string;
  version: number;
  entities: number;
  stateCounts: Record<string, number>;
  states: Record<string, StateStats>;
  conflictRetries: Array<{ from: string; to: string; count: number }>;
  freezes: Array<{ id: string; events: string[] | null; states: string[] | null; except: string[] | null; reason: string; until: string | null }>;
}
export interface MachineSummary {
  name: string;
  version: number;
  description: string | null;
}
export interface EntityView {
  machine: string;
  id: string;
  value: StateValue;
  state: string;
  status: string;
  context: unknown;
  version: number;
  machineVersion: number;
  stateEnteredAt: string;
}
export interface Transition {
  id: string;
  machine: string;
  entityId: string;
  seq: number;
  eventType: string;
  event: Record<string, unknown>;
  fromState: string | null;
  toState: string;
  idempotencyKey: string | null;
  actor: string | null;
  machineVersion: number;
  policyVersion: string | null;
  createdAt: string;
  snapshot?: { value: StateValue; status: string; context: unknown };
}
export interface Effect {
  id: string;
  seq: number;
  type: string;
  status: string;
  attempts: number;
  result: unknown;
  error: unknown;
  followUp: { event: { type: string }; outcome: { status: string; code?: string } | null } | null;
  retries: Array<{ by: string | null; reason: string; at: string }>;
}
export interface Timer {
  id: string;
  eventType: string;
  dueAt: string;
  status: string;
}
export interface Rejection {
  code: string;
  state: string | null;
  eventType: string;
  message: string;
  actor: string | null;
  at: string;
}
export interface LiveActor {
  sessionId: string;
  name: string;
  graph: MachineGraph | null;
  snapshot: { value?: StateValue; status?: string; context?: unknown } | null;
  events: Array<{ type: string; event: unknown; sourceId: string | null; at: string }>;
  connected: boolean;
  updatedAt: string;
}

/** Leaf paths of a state value, and every state around them: what to highlight. */
export function activePaths(value: StateValue | undefined, prefix = ''): Set<string> {
  const paths = new Set<string>();
  if (value === undefined) return paths;
  if (typeof value === 'string') {
    paths.add(prefix ? `${prefix}.${value}` : value);
    return paths;
  }
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    paths.add(path);
    for (const p of activePaths(child, path)) paths.add(p);
  }
  return paths;
}

/** `a.x,b.y` (a stored state string) -> the same set as activePaths. */
export function pathsOfState(state: string): Set<string> {
  const paths = new Set<string>();
  for (const leaf of state.split(',')) {
    const parts = leaf.split('.');
    for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('.'));
  }
  return paths;
}
