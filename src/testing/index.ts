/**
 * `tollgate/testing`: model-based path tests. Paths through a machine are generated with @xstate/graph and
 * driven through the real runtime, each step checked against XState's pure `transition()`.
 */
export { pathTestDefaults, pathTests } from './path-tests.ts';
export type { PathTestOptions, PathTest, PathTestSuite } from './path-tests.ts';
export type { PathStrategy, PathStep, GeneratedPath, ModelTransition } from './generate.ts';
export type { EventSamples, SamplePayload } from './samples.ts';
export type { PathRunResult, StepResult } from './run-path.ts';
export { PathDivergence } from './divergence.ts';
export { formatCoverage, mergeCoverage, productionCoverage } from './coverage.ts';
export type { PathCoverage, ProductionCoverage, ObservedTransition } from './coverage.ts';
export { formatPathTable } from './table.ts';
