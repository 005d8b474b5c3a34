import type { Policy, PolicyDecision, PolicyRequest } from './policy.ts';

/**
 * A machine's policies, registered in code as versions: `{ subscription: [p20261101, p20261201] }`. Which one
 * applies is the machine's row in `active_policies`, switched at run time (`tollgate policy activate`); a machine
 * with no row yet gets its newest version (the last in the list) when a process first needs it.
 */
export type PolicyVersions = Readonly<Record<string, readonly Policy[]>>;

/** What resolving a machine's policy found. */
export type ResolvedPolicy =
  | { readonly kind: 'none' }
  | { readonly kind: 'policy'; readonly policy: Policy }
  /** The active version is one this process does not register (a newer release's). */
  | { readonly kind: 'unknown'; readonly version: string; readonly known: readonly string[] };

/**
 * The policy of `machine` now: the registered version the database names active; with no row, the newest
 * registered one. `fallback` (the single `createTollgate({ policy })`) counts as the one version of every machine
 * that registers none.
 */
export function resolvePolicy(versions: PolicyVersions, fallback: Policy | undefined, machine: string, active: string | undefined): ResolvedPolicy {
  const registered = registeredPolicies(versions, fallback, machine);
  if (active === undefined) {
    const newest = registered.at(-1);
    return newest ? { kind: 'policy', policy: newest } : { kind: 'none' };
  }
  const policy = registered.find((p) => p.version === active);
  if (policy) return { kind: 'policy', policy };
  return { kind: 'unknown', version: active, known: registered.map((p) => p.version) };
}

/** The versions registered for `machine`, oldest first (the `fallback` policy for a machine that registers none). */
export function registeredPolicies(versions: PolicyVersions, fallback: Policy | undefined, machine: string): readonly Policy[] {
  return Object.hasOwn(versions, machine) ? (versions[machine] ?? []) : fallback ? [fallback] : [];
}

/** What running a policy's check gave: its decision, or why it gave none. */
export type CheckOutcome = { readonly kind: 'decided'; readonly decision: PolicyDecision } | { readonly kind: 'unavailable'; readonly why: string };

/** Runs `policy.check` with a time limit: a throw or no answer within `timeoutMs` is `unavailable`, never a decision. */
export async function runPolicyCheck(policy: Policy, request: PolicyRequest, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'unavailable', why: `it did not answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const checked = (async (): Promise<CheckOutcome> => {
    try {
      const decision = await policy.check(request);
      if (typeof decision !== 'object' || decision === null || typeof decision.allow !== 'boolean') {
        return { kind: 'unavailable', why: 'it answered something other than { allow }' };
      }
      return { kind: 'decided', decision };
    } catch (error) {
      return { kind: 'unavailable', why: `it threw: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300) };
    }
  })();
  try {
    return await Promise.race([checked, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks registered versions at start-up: known machines, non-empty unique versions. Returns a problem, if any. */
export function policyVersionsProblem(versions: PolicyVersions, machines: ReadonlySet<string>): string | undefined {
  for (const [machine, list] of Object.entries(versions)) {
    if (!machines.has(machine)) return `policies: '${machine}' is not a registered machine`;
    if (!Array.isArray(list) || list.length === 0) return `policies.${machine}: register at least one policy version`;
    const seen = new Set<string>();
    for (const policy of list) {
      if (typeof policy?.version !== 'string' || policy.version.length === 0 || policy.version.length > 100 || typeof policy.check !== 'function') {
        return `policies.${machine}: every policy needs a version (1 to 100 characters) and a check function`;
      }
      if (seen.has(policy.version)) return `policies.${machine}: version '${policy.version}' is registered twice`;
      seen.add(policy.version);
    }
  }
  return undefined;
}
