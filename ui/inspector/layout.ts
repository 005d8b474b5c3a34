import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GraphNode, MachineGraph } from './api.ts';

/** A laid-out state: its box in absolute coordinates. */
export interface Box {
  node: GraphNode;
  x: number;
  y: number;
  width: number;
  height: number;
  depth: number;
  /** A parallel state's child: a region, drawn dashed. */
  region: boolean;
}
/** A laid-out transition: its polyline and where its label goes. */
export interface Wire {
  id: string;
  /** State paths; `''` is the machine's root (its box holds every state). */
  source: string;
  target: string;
  points: Array<{ x: number; y: number }>;
  label: { text: string; x: number; y: number; width: number; height: number } | null;
  initial: boolean;
}
/** An initial marker (a dot inside the parent, with a wire to the initial state). */
export interface Dot {
  x: number;
  y: number;
}
export interface Layout {
  width: number;
  height: number;
  boxes: Box[];
  wires: Wire[];
  dots: Dot[];
}

const elk = new ELK();
const charWidth = 6.6;
const lineHeight = 15;
const titleHeight = 26;
const initId = (parent: string) => `${parent}#initial`;
/** ELK's id of the machine's root box: the root's path is `''`, which ELK cannot take for an id. */
const rootId = '(machine)';
const elkId = (path: string) => (path === '' ? rootId : path);
const pathOf = (id: string) => (id === rootId ? '' : id);

/** Text of an edge's label: `EVENT [guard] / effect, effect`. */
export function edgeLabel(e: { event: string; guard: string | null; effects: string[] }): string {
  return `${e.event}${e.guard ? ` [${e.guard}]` : ''}${e.effects.length ? ` / ${e.effects.join(', ')}` : ''}`;
}

/**
 * Lays out the machine with ELK's layered algorithm over compound nodes: every state a box, children inside their
 * parent, the machine's root a box around them all, an edge per transition target, labels placed by ELK.
 * Transitions declared on the root (`on` of the machine itself: handled in every state) start at the root's box: an
 * edge into the state they target, or a loop around the box when they have none. Coordinates come back absolute
 * (json.shapeCoords / edgeCoords ROOT), so drawing needs no offsets.
 */
export async function layoutMachine(graph: MachineGraph): Promise<Layout> {
  const edges: ElkExtendedEdge[] = [];
  const toElk = (node: GraphNode, parent: GraphNode | null): ElkNode => {
    const children: ElkNode[] = node.children.map((c) => toElk(c, node));
    const initial = node.type === 'compound' ? node.children.find((c) => c.initial) : undefined;
    if (initial) {
      children.unshift({ id: initId(node.path), width: 12, height: 12 });
      edges.push({ id: `${initId(node.path)}>`, sources: [initId(node.path)], targets: [initial.path] });
    }
    const label = node.type === 'history' ? (node.history === 'deep' ? 'H*' : 'H') : node.key;
    const atomicWidth = Math.max(90, label.length * charWidth + 70);
    return {
      id: node.path,
      ...(children.length === 0
        ? node.type === 'history'
          ? { width: 34, height: 34 }
          : { width: atomicWidth, height: 48 }
        : {
            children,
            layoutOptions: {
              'elk.padding': `[top=${titleHeight + 8},left=14,bottom=14,right=14]`,
              ...(node.type === 'parallel' ? { 'elk.direction': 'DOWN', 'elk.spacing.nodeNode': '16' } : {}),
            },
          }),
      ...(parent?.type === 'parallel' ? {} : {}),
    };
  };
  const top = graph.root.children.map((c) => toElk(c, graph.root));
  const initialTop = graph.root.type === 'compound' ? graph.root.children.find((c) => c.initial) : undefined;
  if (initialTop) {
    top.unshift({ id: initId(''), width: 12, height: 12 });
    edges.push({ id: `${initId('')}>`, sources: [initId('')], targets: [initialTop.path] });
  }
  const machineBox: ElkNode = {
    id: rootId,
    children: top,
    layoutOptions: {
      'elk.padding': `[top=${titleHeight + 8},left=14,bottom=14,right=14]`,
      ...(graph.root.type === 'parallel' ? { 'elk.direction': 'DOWN', 'elk.spacing.nodeNode': '16' } : {}),
    },
  };
  const known = new Set<string>();
  const collect = (n: GraphNode) => {
    known.add(n.path);
    n.children.forEach(collect);
  };
  collect(graph.root);
  for (const e of graph.edges) {
    if (!known.has(e.source)) continue;
    const text = edgeLabel(e);
    const targets = e.targets.length > 0 ? e.targets.filter((t) => known.has(t)) : [e.source];
    targets.forEach((t, i) =>
      edges.push({
        id: `${e.id}:${i}`,
        sources: [elkId(e.source)],
        targets: [elkId(t)],
        labels: [{ text, width: text.length * charWidth + 8, height: lineHeight }],
      }),
    );
  }
  const result: ElkNode = await elk.layout({
    id: '(root)',
    children: [machineBox],
    edges,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'POLYLINE',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.layered.spacing.edgeNodeBetweenLayers': '14',
      'elk.spacing.nodeNode': '22',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
      'elk.padding': '[top=20,left=20,bottom=20,right=20]',
      'org.eclipse.elk.json.shapeCoords': 'ROOT',
      'org.eclipse.elk.json.edgeCoords': 'ROOT',
    },
  });

  const byPath = new Map<string, GraphNode>();
  const parentType = new Map<string, string>();
  const index = (n: GraphNode) => {
    byPath.set(n.path, n);
    for (const c of n.children) {
      parentType.set(c.path, n.type);
      index(c);
    }
  };
  index(graph.root);
  const boxes: Box[] = [];
  const dots: Dot[] = [];
  const visit = (n: ElkNode, depth: number) => {
    const node = byPath.get(pathOf(n.id));
    if (n.id.endsWith('#initial')) dots.push({ x: (n.x ?? 0) + 6, y: (n.y ?? 0) + 6 });
    else if (node) {
      boxes.push({ node, x: n.x ?? 0, y: n.y ?? 0, width: n.width ?? 0, height: n.height ?? 0, depth, region: parentType.get(n.id) === 'parallel' });
    }
    for (const c of n.children ?? []) visit(c, depth + 1);
  };
  for (const c of result.children ?? []) visit(c, 0);
  const wires: Wire[] = [];
  const allEdges: ElkExtendedEdge[] = [];
  const gather = (n: ElkNode) => {
    allEdges.push(...(n.edges ?? []));
    (n.children ?? []).forEach(gather);
  };
  gather(result);
  for (const e of allEdges) {
    const section = e.sections?.[0];
    if (!section) continue;
    const label = e.labels?.[0];
    wires.push({
      id: e.id,
      source: pathOf(e.sources[0] ?? ''),
      target: pathOf(e.targets[0] ?? ''),
      points: [section.startPoint, ...(section.bendPoints ?? []), section.endPoint],
      label: label ? { text: label.text ?? '', x: label.x ?? 0, y: label.y ?? 0, width: label.width ?? 0, height: label.height ?? 0 } : null,
      initial: e.id.includes('#initial'),
    });
  }
  return { width: result.width ?? 400, height: result.height ?? 300, boxes, wires, dots };
}
