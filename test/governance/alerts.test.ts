import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { portsOf } from '../../src/runtime/ports.ts';

const rulesPath = fileURLToPath(new URL('../../ops/prometheus-alerts.yml', import.meta.url));
const rules = readFileSync(rulesPath, 'utf8');
const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/tollgate.json', import.meta.url), 'utf8')) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};

/** Metric names an expression reads (a histogram's series by their family name). */
const namesIn = (expr: string) => [...expr.matchAll(/\b(tollgate_[a-z0-9_]+)/g)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, ''));

describe('alert rules and dashboard', () => {
  it('cover the five journey signals, freezes and audit drift, and name only metrics tollgate exports', async () => {
    const tg = await testRuntime(backends()[0] ?? 'pglite', { machines });
    portsOf(tg).jobMetrics(); // the workers' metrics, as startProcesses registers them
    portsOf(tg).feedMetrics(); // the lifecycle feed's, likewise
    const exported = new Set([...(await tg.metricsText()).matchAll(/^# TYPE (\w+)/gm)].map((m) => m[1]));
    const exprs = [...rules.matchAll(/expr: (?:\|\n)?([\s\S]*?)\n\s+(?:for|labels):/g)].map((m) => m[1] as string);
    const panelExprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const expr of [...exprs, ...panelExprs]) {
      expect(namesIn(expr).length, expr).toBeGreaterThan(0);
      for (const name of namesIn(expr)) expect(exported, `${name} in ${expr}`).toContain(name);
    }
    const signals = [
      /code="TG_ILLEGAL_TRANSITION"/,
      /tollgate_conflict_retries_total/,
      /tollgate_stuck_(entities|oldest_seconds)/,
      /tollgate_outbox_lag_seconds/,
      /tollgate_compensations_per_1000_transitions/,
      /tollgate_active_freezes/,
      /tollgate_audit_drift_entities/,
    ];
    for (const signal of signals) {
      expect(exprs.some((e) => signal.test(e)), `an alert on ${signal}`).toBe(true);
      expect(panelExprs.some((e) => signal.test(e)), `a panel on ${signal}`).toBe(true);
    }
    expect(panelExprs.some((e) => /tollgate_time_in_state_seconds_bucket/.test(e))).toBe(true);
  });

  it.runIf(existsSync('/usr/bin/promtool'))('pass promtool check rules', () => {
    expect(execFileSync('/usr/bin/promtool', ['check', 'rules', rulesPath], { encoding: 'utf8' })).toMatch(/SUCCESS/);
  });
});
