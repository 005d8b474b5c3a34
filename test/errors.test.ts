import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorRegistry, TollgateError, isTollgateError, type TollgateErrorCode } from '../src/errors.ts';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const rows = [...doc.matchAll(/^\| `(TG_[A-Z_]+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => ({
  code: m[1] as string,
  status: Number(m[2]),
  retryable: m[3] === 'yes',
}));

describe('error registry', () => {
  it('docs/errors.md lists exactly the registry, with the same status and retry class', () => {
    const registry = Object.entries(errorRegistry).map(([code, spec]) => ({ code, status: spec.status, retryable: spec.retryable }));
    expect(rows).toEqual(expect.arrayContaining(registry));
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(errorRegistry).sort());
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
  });

  it('every code is a TG_ name and every error carries its registry facts', () => {
    for (const code of Object.keys(errorRegistry) as TollgateErrorCode[]) {
      expect(code).toMatch(/^TG_[A-Z_]+$/);
      const error = new TollgateError(code, 'm', { machine: 'x' });
      expect(error.status).toBe(errorRegistry[code].status);
      expect(error.retryable).toBe(errorRegistry[code].retryable);
      expect(isTollgateError(error, code)).toBe(true);
      expect(error.toJSON()).toMatchObject({ code, status: errorRegistry[code].status, details: { machine: 'x' } });
    }
  });
});
