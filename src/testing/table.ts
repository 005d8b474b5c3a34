import type { PathRunResult } from './run-path.ts';

/** A plain-text table of path results: path, steps, refusals checked, result, time. */
export function formatPathTable(rows: ReadonlyArray<{ path: string; result?: PathRunResult; error?: string }>): string {
  const table = rows.map((r) => [
    r.path,
    r.result ? String(r.result.steps.length - 1) : '-',
    r.result ? String(r.result.refusalsChecked) : '-',
    r.result ? 'ok' : 'DIVERGED',
    r.result ? `${Math.round(r.result.ms)} ms` : '',
  ]);
  const header = ['path', 'steps', 'refusals', 'result', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...table.map(line)].join('\n');
}
