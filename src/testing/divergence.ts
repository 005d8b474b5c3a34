import { inspect } from 'node:util';

/** Where a run left XState's answer: the path, the step and what differed. */
export class PathDivergence extends Error {
  override readonly name = 'PathDivergence';
  readonly path: string;
  /** 0 is the creation, n the n-th step; -1 the refusal checks after the last step. */
  readonly step: number;
  readonly entityId: string;
  readonly what: string;
  readonly expected: unknown;
  readonly actual: unknown;

  constructor(p: { path: string; step: number; stepLabel: string; entityId: string; what: string; expected: unknown; actual: unknown }) {
    super(
      `Path "${p.path}" diverged from XState at ${p.stepLabel} (entity ${p.entityId}): ${p.what}.\n` +
        `  expected (XState): ${show(p.expected)}\n  actual (tollgate): ${show(p.actual)}`,
    );
    this.path = p.path;
    this.step = p.step;
    this.entityId = p.entityId;
    this.what = p.what;
    this.expected = p.expected;
    this.actual = p.actual;
  }
}

function show(value: unknown): string {
  return inspect(value, { depth: 6, breakLength: Infinity, compact: true });
}
