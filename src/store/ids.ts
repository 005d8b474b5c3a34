/**
 * SQL for "the ids in the JSON array parameter `param`", to write `id = ANY(${idsOf('$1')})`.
 *
 * Statements are prepared, and after a few runs Postgres keeps a generic plan made with the statistics of that
 * moment. Two shapes went wrong in the worker, relay and sweepers, each costing a scan that grows with the table:
 * - `id IN (SELECT jsonb_array_elements_text($1))`: a set-returning function is estimated at 100 rows, and below
 *   some 100,000 rows the planner prefers a hash join over a sequential scan to 100 primary-key probes.
 *   `ANY(ARRAY(subquery))` makes the list one array parameter (an InitPlan) matched against the primary key.
 * - `id = ANY(...) AND status = 'pending'`: the status test matches a partial index's predicate; with statistics
 *   taken when few rows were pending, the plan walks that whole index and filters on id (O(backlog) per batch).
 *   Where the status test is needed, `(status = 'x') IS TRUE` says the same but is not matched to the index.
 */
export function idsOf(param: string): string {
  return `ARRAY(SELECT jsonb_array_elements_text(${param}::text::jsonb))`;
}
