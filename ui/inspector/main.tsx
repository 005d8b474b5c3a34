import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  activePaths,
  apiUrl,
  get,
  pathsOfState,
  type Effect,
  type EntityView,
  type LiveActor,
  type MachineGraph,
  type MachineStats,
  type MachineSummary,
  type Rejection,
  type Timer,
  type Transition,
} from './api.ts';
import { Diagram, type Overlays } from './diagram.tsx';
import { layoutMachine, type Layout } from './layout.ts';

type Route =
  | { view: 'machine'; machine: string; state?: string; entity?: string }
  | { view: 'actor'; sessionId: string }
  | { view: 'home' };

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'machine' && parts[1]) {
    if (parts[2] === 'state' && parts[3] !== undefined) return { view: 'machine', machine: parts[1], state: parts[3] };
    if (parts[2] === 'entity' && parts[3] !== undefined) return { view: 'machine', machine: parts[1], entity: parts.slice(3).join('/') };
    return { view: 'machine', machine: parts[1] };
  }
  if (parts[0] === 'actor' && parts[1]) return { view: 'actor', sessionId: parts.slice(1).join('/') };
  return { view: 'home' };
}
const href = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join('/')}`;

/** Committed transitions from the page's one stream, for whoever shows them. */
const transitionListeners = new Set<(t: Transition) => void>();
function useTransitions(listener: (t: Transition) => void, deps: unknown[]) {
  useEffect(() => {
    transitionListeners.add(listener);
    return () => void transitionListeners.delete(listener);
  }, deps);
}

const layouts = new Map<string, Promise<Layout>>();
function useLayout(key: string, graph: () => Promise<MachineGraph | null>): Layout | null | 'none' {
  const [layout, setLayout] = useState<Layout | null | 'none'>(null);
  useEffect(() => {
    let current = true;
    setLayout(null);
    let pending = layouts.get(key);
    if (!pending) {
      pending = graph().then((g) => (g ? layoutMachine(g) : Promise.reject(new Error('no graph'))));
      layouts.set(key, pending);
    }
    pending.then(
      (l) => current && setLayout(l),
      () => current && setLayout('none'),
    );
    return () => void (current = false);
  }, [key]);
  return layout;
}

function App() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [machines, setMachines] = useState<MachineSummary[]>([]);
  const [stats, setStats] = useState<Record<string, MachineStats>>({});
  const [actors, setActors] = useState<Record<string, LiveActor>>({});
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    get<{ items: MachineSummary[] }>('v1/machines').then((r) => setMachines(r.items), (e: Error) => setError(e.message));
    // One stream for the whole page: every machine's stats and every commit (the server shares one aggregation).
    const stream = new EventSource(apiUrl('v1/stream', { stats: 'true' }));
    stream.onopen = () => setLive(true);
    stream.onerror = () => setLive(false);
    stream.addEventListener('stats', (e) => {
      const s = JSON.parse((e as MessageEvent<string>).data) as MachineStats;
      setStats((all) => ({ ...all, [s.machine]: s }));
    });
    stream.addEventListener('transition', (e) => {
      const t = JSON.parse((e as MessageEvent<string>).data) as Transition;
      for (const l of transitionListeners) l(t);
    });
    const actorStream = new EventSource(apiUrl('inspector/actors/stream'));
    actorStream.addEventListener('actor', (e) => {
      const a = JSON.parse((e as MessageEvent<string>).data) as LiveActor;
      setActors((all) => ({ ...all, [a.sessionId]: a }));
    });
    return () => {
      removeEventListener('hashchange', onHash);
      stream.close();
      actorStream.close();
    };
  }, []);

  useEffect(() => {
    if (route.view === 'home' && machines[0]) location.replace(href('machine', machines[0].name));
  }, [route, machines]);

  return (
    <div class="app">
      <nav class="sidebar">
        <h1>
          tollgate <span class="muted">inspector</span>
        </h1>
        <div class={`live ${live ? 'on' : 'off'}`} data-live={live ? 'on' : 'off'}>
          {live ? '● live' : '○ connecting'}
        </div>
        <h2>Machines</h2>
        <ul>
          {machines.map((m) => (
            <li key={m.name} class={route.view === 'machine' && route.machine === m.name ? 'current' : ''}>
              <a href={href('machine', m.name)} data-machine={m.name}>
                {m.name} <span class="muted">v{m.version}</span>
                <span class="total" data-total={stats[m.name]?.entities ?? ''}>
                  {stats[m.name]?.entities ?? '…'}
                </span>
              </a>
            </li>
          ))}
        </ul>
        <h2>Live actors</h2>
        {Object.keys(actors).length === 0 && <p class="muted small">None. Connect one: createWebSocketInspector({'{'} url: 'ws://{location.host}/inspector/ws' {'}'})</p>}
        <ul>
          {Object.values(actors).map((a) => (
            <li key={a.sessionId} class={route.view === 'actor' && route.sessionId === a.sessionId ? 'current' : ''}>
              <a href={href('actor', a.sessionId)} data-actor={a.sessionId}>
                {a.name} <span class={a.connected ? 'dot on' : 'dot off'} />
                <span class="muted small"> {a.sessionId}</span>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        {error && <p class="error">{error}</p>}
        {route.view === 'machine' && <MachineView key={route.machine} route={route} stats={stats[route.machine]} />}
        {route.view === 'actor' && <ActorView actor={actors[route.sessionId]} />}
      </main>
    </div>
  );
}

function OverlayToggles({ overlays, set }: { overlays: Overlays; set: (o: Overlays) => void }) {
  const names: Array<[keyof Overlays, string]> = [
    ['heat', 'heatmap'],
    ['stuck', 'stuck (maxDwell)'],
    ['refusals', 'refusals 15 min'],
    ['conflicts', 'conflict retries'],
    ['effects', 'effects pending/failed'],
  ];
  return (
    <div class="overlays">
      {names.map(([key, label]) => (
        <label key={key}>
          <input type="checkbox" data-overlay={key} checked={overlays[key]} onChange={() => set({ ...overlays, [key]: !overlays[key] })} /> {label}
        </label>
      ))}
    </div>
  );
}

function MachineView({ route, stats }: { route: Extract<Route, { view: 'machine' }>; stats: MachineStats | undefined }) {
  const layout = useLayout(`machine:${route.machine}`, () => get<MachineGraph>(`v1/machines/${encodeURIComponent(route.machine)}/graph`));
  const [overlays, setOverlays] = useState<Overlays>({ heat: true, stuck: true, refusals: true, conflicts: true, effects: true });
  const [highlight, setHighlight] = useState<Set<string> | undefined>(undefined);
  useEffect(() => setHighlight(undefined), [route.entity]);
  return (
    <div class="machine-view">
      <header>
        <h2>
          <a href={href('machine', route.machine)}>{route.machine}</a>
          {stats && <span class="muted"> · {stats.entities} entities · v{stats.version}</span>}
        </h2>
        <OverlayToggles overlays={overlays} set={setOverlays} />
      </header>
      {stats?.freezes.map((f) => (
        <p class="frozen" data-freeze={f.id} key={f.id}>
          Frozen ({f.id}): {f.events ? f.events.join(', ') : 'every event'}
          {f.states ? ` in ${f.states.join(', ')}` : ''}
          {f.except ? `, except ${f.except.join(', ')}` : ''} until {f.until ?? 'lifted'}: {f.reason}
        </p>
      ))}
      <div class="panes">
        <div class="canvas">
          {layout === null && <p class="muted">laying out…</p>}
          {layout === 'none' && <p class="error">This machine could not be drawn.</p>}
          {layout && layout !== 'none' && (
            <Diagram
              layout={layout}
              stats={stats}
              overlays={overlays}
              active={highlight}
              selected={route.state}
              onState={(path) => (location.hash = path ? href('machine', route.machine, 'state', path) : href('machine', route.machine))}
            />
          )}
        </div>
        {route.state !== undefined && <EntityList machine={route.machine} state={route.state} />}
        {route.entity !== undefined && <EntityPanel machine={route.machine} id={route.entity} onHighlight={setHighlight} />}
      </div>
    </div>
  );
}

function EntityList({ machine, state }: { machine: string; state: string }) {
  const [prefix, setPrefix] = useState('');
  const [pages, setPages] = useState<string[]>([]); // cursors of the pages before this one
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [page, setPage] = useState<{ items: EntityView[]; nextCursor: string | null } | null>(null);
  const [tick, setTick] = useState(0);
  useTransitions((t) => t.machine === machine && (pathsOfState(t.toState).has(state) || (t.fromState !== null && pathsOfState(t.fromState).has(state))) && setTick((n) => n + 1), [machine, state]);
  useEffect(() => {
    setCursor(undefined);
    setPages([]);
  }, [machine, state, prefix]);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      get<{ items: EntityView[]; nextCursor: string | null }>(`v1/entities/${encodeURIComponent(machine)}`, {
        state,
        limit: '25',
        cursor,
        idPrefix: prefix || undefined,
      }).then((p) => current && setPage(p));
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [machine, state, prefix, cursor, tick]);
  return (
    <aside class="panel entity-list">
      <h3>
        Entities in <code>{state}</code>
      </h3>
      <input class="filter" placeholder="filter by id prefix" value={prefix} onInput={(e) => setPrefix((e.target as HTMLInputElement).value)} />
      <table>
        <tbody>
          {page?.items.map((e) => (
            <tr key={e.id} data-entity-id={e.id} onClick={() => (location.hash = href('machine', machine, 'entity', e.id))}>
              <td>
                <a href={href('machine', machine, 'entity', e.id)}>{e.id}</a>
              </td>
              <td class="muted">{e.state}</td>
              <td class="muted small">{new Date(e.stateEnteredAt).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 && <p class="muted">No entities.</p>}
      <div class="pager">
        <button disabled={pages.length === 0} onClick={() => { const prev = [...pages]; const c = prev.pop(); setPages(prev); setCursor(c === '' ? undefined : c); }}>
          ← previous
        </button>
        <button disabled={!page?.nextCursor} onClick={() => { setPages([...pages, cursor ?? '']); setCursor(page?.nextCursor ?? undefined); }}>
          next →
        </button>
      </div>
    </aside>
  );
}

interface EntityData {
  entity: EntityView;
  transitions: Transition[];
  effects: Effect[];
  timers: Timer[];
  rejections: Rejection[];
}

async function loadEntity(machine: string, id: string): Promise<EntityData> {
  const base = `v1/entities/${encodeURIComponent(machine)}/${encodeURIComponent(id)}`;
  const transitions: Transition[] = [];
  for (let after = 0; transitions.length < 5000; ) {
    const page = await get<{ items: Transition[]; nextAfterSeq: number | null }>(`${base}/transitions`, { afterSeq: String(after), limit: '1000', withSnapshots: 'true' });
    transitions.push(...page.items);
    if (page.nextAfterSeq === null) break;
    after = page.nextAfterSeq;
  }
  const [entity, effects, timers, rejections] = await Promise.all([
    get<EntityView>(base),
    get<{ items: Effect[] }>(`${base}/effects`),
    get<{ items: Timer[] }>(`${base}/timers`),
    get<{ items: Rejection[] }>(`${base}/rejections`),
  ]);
  return { entity, transitions, effects: effects.items, timers: timers.items, rejections: rejections.items };
}

const json = (v: unknown) => JSON.stringify(v, null, 1);

function EntityPanel({ machine, id, onHighlight }: { machine: string; id: string; onHighlight: (s: Set<string> | undefined) => void }) {
  const [data, setData] = useState<EntityData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  useTransitions((t) => t.machine === machine && t.entityId === id && setTick((n) => n + 1), [machine, id]);
  useEffect(() => {
    let current = true;
    loadEntity(machine, id).then(
      (d) => current && (setData(d), setError(null)),
      (e: Error) => current && setError(e.message),
    );
    return () => void (current = false);
  }, [machine, id, tick]);
  const shown = selected === null ? null : data?.transitions.find((t) => t.seq === selected);
  useEffect(() => {
    if (!data) return onHighlight(undefined);
    onHighlight(shown?.snapshot ? activePaths(shown.snapshot.value) : pathsOfState(data.entity.state));
  }, [data, shown]);
  if (error) return <aside class="panel entity"><p class="error">{error}</p></aside>;
  if (!data) return <aside class="panel entity"><p class="muted">loading…</p></aside>;
  const { entity } = data;
  return (
    <aside class="panel entity" data-entity={entity.id}>
      <h3>
        {entity.id} <span class="muted">· {entity.status}</span>
      </h3>
      <p>
        in <code data-current-state={entity.state}>{entity.state}</code> since {new Date(entity.stateEnteredAt).toLocaleString()} · version {entity.version}
      </p>
      {shown && (
        <div class="snapshot" data-snapshot-seq={shown.seq}>
          <h4>
            After #{shown.seq} ({shown.eventType}): <code>{shown.toState}</code>{' '}
            <button onClick={() => setSelected(null)}>back to now</button>
          </h4>
          <pre>{json(shown.snapshot?.context)}</pre>
        </div>
      )}
      <h4>Timeline</h4>
      <table class="timeline">
        <thead>
          <tr>
            <th>#</th>
            <th>event</th>
            <th>from → to</th>
            <th>actor</th>
            <th>v / policy</th>
            <th>key</th>
            <th>at</th>
          </tr>
        </thead>
        <tbody>
          {data.transitions.map((t) => (
            <tr key={t.seq} data-seq={t.seq} class={selected === t.seq ? 'selected' : ''} onClick={() => setSelected(selected === t.seq ? null : t.seq)}>
              <td>{t.seq}</td>
              <td>
                <b>{t.eventType}</b>
                {Object.keys(t.event).length > 1 && <div class="payload">{json(Object.fromEntries(Object.entries(t.event).filter(([k]) => k !== 'type')))}</div>}
              </td>
              <td>
                {t.fromState ?? '∅'} → {t.toState}
              </td>
              <td>{t.actor ?? <span class="muted">system</span>}</td>
              <td>
                v{t.machineVersion}
                {t.policyVersion ? ` / ${t.policyVersion}` : ''}
              </td>
              <td class="small">{t.idempotencyKey ?? ''}</td>
              <td class="small">{new Date(t.createdAt).toLocaleTimeString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Effects</h4>
      {data.effects.length === 0 && <p class="muted">None.</p>}
      <table class="effects">
        <tbody>
          {data.effects.map((e) => (
            <tr key={e.id} data-effect={e.id} class={`status-${e.status}`}>
              <td>#{e.seq}</td>
              <td>
                <b>{e.type}</b>
              </td>
              <td>
                <span class={`pill ${e.status}`}>{e.status}</span> ×{e.attempts}
              </td>
              <td class="small">
                {e.error ? json(e.error) : e.result !== null && e.result !== undefined ? json(e.result) : ''}
                {e.followUp && (
                  <div>
                    → {e.followUp.event.type}: {e.followUp.outcome ? e.followUp.outcome.status + (e.followUp.outcome.code ? ` ${e.followUp.outcome.code}` : '') : 'not sent yet'}
                  </div>
                )}
                {e.retries.map((r) => (
                  <div key={r.at} class="muted">
                    retried by {r.by ?? 'open server'}: {r.reason}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Timers</h4>
      {data.timers.length === 0 && <p class="muted">None.</p>}
      <table>
        <tbody>
          {data.timers.map((t) => (
            <tr key={t.id} data-timer={t.id}>
              <td>{t.eventType.replace(/^xstate\.after\.([^.]+)\..*$/, 'after $1')}</td>
              <td>
                <span class={`pill ${t.status}`}>{t.status}</span>
              </td>
              <td class="small">due {new Date(t.dueAt).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Refusals</h4>
      {data.rejections.length === 0 && <p class="muted">None.</p>}
      <table>
        <tbody>
          {data.rejections.map((r, i) => (
            <tr key={i}>
              <td>{r.eventType}</td>
              <td>
                <code>{r.code}</code>
              </td>
              <td class="small">
                in {r.state} by {r.actor ?? 'system'} · {new Date(r.at).toLocaleString()}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  );
}

function ActorView({ actor }: { actor: LiveActor | undefined }) {
  const graph = actor?.graph ?? null;
  const layout = useLayout(`actor:${actor?.sessionId}:${graph ? JSON.stringify(graph).length : 0}`, async () => graph);
  const active = useMemo(() => activePaths(actor?.snapshot?.value), [actor?.snapshot]);
  if (!actor) return <p class="muted">This actor is not connected (yet).</p>;
  return (
    <div class="machine-view actor-view" data-actor-view={actor.sessionId}>
      <header>
        <h2>
          {actor.name} <span class="muted">· live actor {actor.sessionId} · {actor.connected ? 'connected' : 'disconnected'}</span>
        </h2>
      </header>
      <div class="panes">
        <div class="canvas">
          {layout && layout !== 'none' && <Diagram layout={layout} overlays={{ heat: false, stuck: false, refusals: false, conflicts: false, effects: false }} active={active} />}
          {layout === 'none' && <p class="muted">No definition to draw.</p>}
        </div>
        <aside class="panel">
          <h4>State</h4>
          <pre data-actor-state>{json(actor.snapshot?.value)}</pre>
          <h4>Context</h4>
          <pre>{json(actor.snapshot?.context)}</pre>
          <h4>Events</h4>
          <ol class="events">
            {actor.events.map((e, i) => (
              <li key={i} data-event={e.type}>
                <b>{e.type}</b> <span class="muted small">{new Date(e.at).toLocaleTimeString()}</span>
              </li>
            ))}
          </ol>
        </aside>
      </div>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
