/** What a failed zod parse's error carries (zod's `ZodError`, structurally: no zod import needed). */
export interface ZodIssues {
  readonly issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>;
}

/**
 * The first issue of a failed zod parse as a field and a message, for refusals that name the bad field:
 * `field` is the issue's path joined with dots, or `whole` when the value itself is wrong.
 *
 * @example
 * const { field, message } = firstIssue(parsed.error, '(options)'); // { field: 'policyTimeoutMs', message: 'Too small: ...' }
 */
export function firstIssue(error: ZodIssues, whole: string): { readonly field: string; readonly message: string } {
  const issue = error.issues[0];
  return { field: issue?.path.map(String).join('.') || whole, message: issue?.message ?? 'is invalid' };
}
