import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { relative } from 'node:path';
import slowFiles from './slow-files.json' with { type: 'json' };

/**
 * Runs the slowest files first, longest first, then the rest in vitest's own order. Two workers share the files:
 * vitest orders a fresh clone (no results cache, as in CI) by file size, which put the 110-second chaos run, a short
 * file, last, and one worker ran it alone for over a minute after the other had finished. `slow-files.json` holds
 * each file's seconds from a full run (files of 10 s or more); a file missing from it runs after the listed ones.
 */
export class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    const seconds = (spec: TestSpecification): number =>
      (slowFiles as Record<string, number>)[relative(spec.project.config.root, spec.moduleId)] ?? -1;
    // Array.prototype.sort is stable: files with no recorded time keep vitest's order among themselves.
    return [...ordered].sort((a, b) => seconds(b) - seconds(a));
  }
}
