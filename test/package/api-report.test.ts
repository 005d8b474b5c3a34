import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiReport, undocumentedExports } from '../../scripts/api-report.ts';

describe('the public API report', () => {
  it('api/tollgate.api.txt lists what the package entries export now (npm run api:report rewrites it)', () => {
    const committed = readFileSync(new URL('../../api/tollgate.api.txt', import.meta.url), 'utf8');
    expect(apiReport()).toBe(committed);
    // Internals stay out of the entries.
    expect(committed).not.toMatch(/^TollgateInternals /m);
  }, 120_000);

  it('every export of every entry has a TSDoc comment (what an editor shows a user)', () => {
    expect(undocumentedExports()).toEqual([]);
  }, 120_000);
});
