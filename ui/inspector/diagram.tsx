import type { MachineStats } from './api.ts';
import type { Box, Layout, Wire } from './layout.ts';

/** Which overlays are on. */
export interface Overlays {
  heat: boolean;
  stuck: boolean;
  refusals: boolean;
  conflicts: boolean;
  effects: boolean;
}

interface Props {
  layout: Layout;
  stats?: MachineStats | undefined;
  overlays: Overlays;
  /** States to highlight (an entity's or actor's current configuration). */
  active?: Set<string> | undefined;
  selected?: string | undefined;
  onState?: ((path: string) => void) | undefined;
}

// Every state is within the root (path '').
const within = (stored: string, path: string) => path === '' || stored.split(',').some((leaf) => leaf === path || leaf.startsWith(`${path}.`));
/** How a wire's end is named in `data-edge`: the state's path, `(machine)` for the root's box. */
const endName = (path: string) => (path === '' ? '(machine)' : path);

/** Conflict retries per wire: a retry from state string `from` to `to` counts on the edges between them. */
function conflictsOf(wire: Wire, stats: MachineStats | undefined): number {
  if (!stats || wire.initial) return 0;
  let n = 0;
  for (const c of stats.conflictRetries) if (within(c.from, wire.source) && within(c.to, wire.target)) n += c.count;
  return n;
}

function heat(count: number, max: number): string {
  if (count === 0 || max === 0) return '#ffffff';
  const t = 0.15 + 0.85 * Math.sqrt(count / max);
  // From a pale amber to a deep orange.
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 240)},${mix(243, 120)},${mix(214, 30)})`;
}

function path(points: Wire['points']): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/** The machine drawn as SVG: nested boxes, labelled edges, counts, heat and overlays. */
export function Diagram({ layout, stats, overlays, active, selected, onState }: Props) {
  const leafCounts = layout.boxes.filter((b) => b.node.children.length === 0).map((b) => stats?.states[b.node.path]?.count ?? 0);
  const max = Math.max(0, ...leafCounts);
  const box = (b: Box) => {
    const root = b.node.path === '';
    const s = stats?.states[b.node.path];
    const count = (root ? stats?.entities : s?.count) ?? 0;
    const leaf = b.node.children.length === 0;
    const isActive = !root && (active?.has(b.node.path) ?? false);
    const classes = ['state', `type-${b.node.type}`, leaf ? 'leaf' : 'compound', root ? 'machine' : '', isActive ? 'active' : '', selected === b.node.path ? 'selected' : '', b.region ? 'region' : '']
      .filter(Boolean)
      .join(' ');
    const fill = leaf && overlays.heat && stats ? heat(count, max) : leaf ? '#ffffff' : 'rgba(246,248,252,0.6)';
    const stuck = overlays.stuck && s?.stuck && s.stuck.count > 0 ? s.stuck : null;
    const refused = overlays.refusals && s ? s.refusals.reduce((n, r) => n + r.count, 0) : 0;
    const effects = overlays.effects && s ? s.effects : null;
    const label = b.node.type === 'history' ? (b.node.history === 'deep' ? 'H*' : 'H') : b.node.key;
    const badges: Array<{ text: string; cls: string; title: string }> = [];
    if (stuck) badges.push({ text: `⏱ ${stuck.count}`, cls: 'badge-stuck', title: `${stuck.count} stuck over maxDwell` });
    if (refused > 0)
      badges.push({ text: `⊘ ${refused}`, cls: 'badge-refused', title: s!.refusals.map((r) => `${r.event} ${r.code}: ${r.count}`).join('\n') });
    if (effects && effects.pending + effects.dispatched > 0) badges.push({ text: `◷ ${effects.pending + effects.dispatched}`, cls: 'badge-pending', title: 'effects pending or dispatched' });
    if (effects && effects.failed > 0) badges.push({ text: `✕ ${effects.failed}`, cls: 'badge-failed', title: 'effects failed' });
    return (
      <g
        key={b.node.path}
        class={classes}
        // The root's box is the machine's, not a state an entity is in: `data-machine`, not `data-state`.
        {...(root ? { 'data-machine': b.node.key } : { 'data-state': b.node.path })}
        {...(stats ? { 'data-count': String(count) } : {})}
        onClick={(e) => {
          e.stopPropagation();
          onState?.(b.node.path);
        }}
      >
        <title>{`${root ? b.node.key : b.node.path}${stats ? `: ${count} entit${count === 1 ? 'y' : 'ies'}` : ''}`}</title>
        {b.node.type === 'history' ? (
          <circle cx={b.x + b.width / 2} cy={b.y + b.height / 2} r={b.width / 2} fill="#fff" />
        ) : (
          <rect x={b.x} y={b.y} width={b.width} height={b.height} rx={leaf ? 8 : 10} fill={fill} />
        )}
        {b.node.type === 'final' && <rect class="final-inner" x={b.x + 4} y={b.y + 4} width={b.width - 8} height={b.height - 8} rx={6} fill="none" />}
        {b.node.type === 'history' ? (
          <text x={b.x + b.width / 2} y={b.y + b.height / 2 + 4} text-anchor="middle" class="state-name">
            {label}
          </text>
        ) : leaf ? (
          <>
            <text x={b.x + 10} y={b.y + 19} class="state-name">
              {label}
            </text>
            {stats && (
              <text x={b.x + b.width - 10} y={b.y + 19} text-anchor="end" class="count">
                {count}
              </text>
            )}
          </>
        ) : (
          <>
            <text x={b.x + 10} y={b.y + 18} class="state-name">
              {label}
              {b.node.type === 'parallel' ? ' ∥' : ''}
            </text>
            {stats && (
              <text x={b.x + b.width - 10} y={b.y + 18} text-anchor="end" class="count">
                {count}
              </text>
            )}
          </>
        )}
        {badges.map((badge, i) => (
          <text key={badge.cls} x={b.x + 10 + i * 44} y={b.y + (leaf ? 38 : b.height - 4)} class={`badge ${badge.cls}`}>
            <title>{badge.title}</title>
            {badge.text}
          </text>
        ))}
      </g>
    );
  };
  const wire = (w: Wire) => {
    const retries = overlays.conflicts ? conflictsOf(w, stats) : 0;
    return (
      <g key={w.id} class={`edge${w.initial ? ' initial' : ''}${w.source === '' ? ' root-edge' : ''}`} data-edge={`${endName(w.source)}->${endName(w.target)}`}>
        <path d={path(w.points)} marker-end="url(#arrow)" />
        {w.label && (
          <text x={w.label.x + 4} y={w.label.y + 11} class="edge-label">
            {w.label.text}
            {retries > 0 && <tspan class="badge-conflict">{`  ⟳ ${retries}`}</tspan>}
          </text>
        )}
      </g>
    );
  };
  const sorted = [...layout.boxes].sort((a, b) => a.depth - b.depth);
  return (
    <svg
      class="diagram"
      width={layout.width}
      height={layout.height}
      viewBox={`0 0 ${layout.width} ${layout.height}`}
      // Fit the pane, but never shrink below legibility: past that the pane scrolls.
      style={{ minWidth: `${Math.min(layout.width, 1000)}px` }}
      onClick={() => onState?.('')}
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" />
        </marker>
      </defs>
      {sorted.map(box)}
      {layout.dots.map((d) => (
        <circle key={`${d.x},${d.y}`} class="initial-dot" cx={d.x} cy={d.y} r={6} />
      ))}
      {layout.wires.map(wire)}
    </svg>
  );
}
