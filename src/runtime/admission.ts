import type { EventObject } from 'xstate';
import { TollgateError, entityRef } from '../errors.ts';
import { matchingFreeze } from '../policy/freezes.ts';
import { resolvePolicy, runPolicyCheck } from '../policy/policies.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';
import type { LoadedEntity } from './snapshot-cache.ts';
import { toEntityView } from './views.ts';

/** The gate's step 3 (DESIGN.md): what freezes and the active policy say about an event now. */
export type Admission =
  | { readonly allowed: true; readonly policyVersion: string | null }
  /** `record`: a refusal the gate records (a freeze, a denial, a policy that failed), as opposed to this process not knowing the rules. */
  | { readonly allowed: false; readonly error: TollgateError; readonly record: boolean };

/** What is being admitted. `dryRun`: a question, so freezes do not apply and errors say "would". */
export interface AdmissionRequest {
  readonly machine: string;
  readonly id: string;
  readonly loaded: LoadedEntity;
  readonly event: EventObject;
  readonly dryRun?: boolean;
}

/**
 * Freezes first (a send only), then the active policy version's check, run with its time limit. A policy that
 * throws or is late refuses retryably (TG_POLICY_UNAVAILABLE): the entity never moves on half a rule. A policy
 * version this process does not register refuses retryably too, so no process applies an old rule after a switch.
 */
export async function admit(ctx: RuntimeContext, request: AdmissionRequest): Promise<Admission> {
  const { machine, id, loaded, event } = request;
  const rules = await ctx.governance.current();
  const now = ctx.clock.now();
  const base = { machine, entityId: id, state: loaded.state, event: event.type, ...(request.dryRun ? { dryRun: true } : {}) };
  if (!request.dryRun) {
    const freeze = matchingFreeze(rules.freezes, machine, loaded.state, event.type, now);
    if (freeze) {
      const until = freeze.until === null ? null : new Date(freeze.until).toISOString();
      return {
        allowed: false,
        record: true,
        error: new TollgateError(
          'TG_FROZEN',
          `'${event.type}' for ${entityRef(machine, id)} in state '${loaded.state}' is frozen by freeze ${freeze.id} ` +
            `(${freeze.reason}) ${until ? `until ${until}` : 'until it is lifted'}. Nothing was written; send it again after the freeze.`,
          { ...base, freezeId: freeze.id, reason: freeze.reason, until, retryAfter: freeze.until === null ? 30 : Math.max(1, Math.ceil((freeze.until - now) / 1000)) },
        ),
      };
    }
  }
  const resolved = resolvePolicy(ctx.policyVersions, ctx.policy, machine, rules.policies.get(machine));
  if (resolved.kind === 'none') return { allowed: true, policyVersion: null };
  if (resolved.kind === 'unknown') {
    return {
      allowed: false,
      record: false,
      error: new TollgateError(
        'TG_POLICY_UNAVAILABLE',
        `Policy version '${resolved.version}' is active for machine '${machine}', and this process registers ` +
          `${resolved.known.length ? resolved.known.map((v) => `'${v}'`).join(', ') : 'no policy versions'} for it (an older release?). ` +
          `Nothing was written for ${entityRef(machine, id)}; retry: a process that knows the version will apply it.`,
        { ...base, reason: 'unknown-version', policyVersion: resolved.version },
      ),
    };
  }
  const { policy } = resolved;
  const outcome = await runPolicyCheck(policy, { machine, entity: toEntityView({ machine, id, ...loaded }, machineOf(ctx, machine).events), event, now }, ctx.policyTimeoutMs);
  if (outcome.kind === 'unavailable') {
    return {
      allowed: false,
      record: !request.dryRun,
      error: new TollgateError(
        'TG_POLICY_UNAVAILABLE',
        `Policy ${policy.version} of machine '${machine}' could not decide '${event.type}' for ${entityRef(machine, id)}: ${outcome.why}. ` +
          `Nothing was written; retry.`,
        { ...base, reason: 'check-failed', policyVersion: policy.version },
      ),
    };
  }
  if (outcome.decision.allow) return { allowed: true, policyVersion: policy.version };
  const reason = outcome.decision.reason;
  return {
    allowed: false,
    record: !request.dryRun,
    error: new TollgateError(
      'TG_POLICY_DENIED',
      `Policy ${policy.version} ${request.dryRun ? 'would deny' : 'denies'} '${event.type}' for ${entityRef(machine, id)} in state '${loaded.state}': ${reason}.`,
      { ...base, reason, policyVersion: policy.version },
    ),
  };
}
