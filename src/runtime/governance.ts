import { randomBytes } from 'node:crypto';
import { TollgateError } from '../errors.ts';
import type { FreezeScope } from '../store/rows.ts';
import { runAudit, type AuditOptions, type AuditReport } from '../audit/run-audit.ts';
import { registeredPolicies } from '../policy/policies.ts';
import { auditStore } from '../store/audit-store.ts';
import type { FreezeRow, PolicySwitchRow } from '../store/governance-store.ts';
import { overrideEntity, type OverrideRequest, type OverrideResult } from './override.ts';
import { checkIdentifier } from './identifier.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';
import type { MachineMode } from '../engine/definition.ts';
import { modeStatus, type ModeStatus } from './machine-mode.ts';
import { modeSwitches, setMode, type ModeSwitchView } from './shadow.ts';

/** One machine's policies: the active version and the versions this process registers. */
export interface PolicyStatus {
  readonly machine: string;
  /** The version every process applies; null: none active yet (the newest registered applies on first use). */
  readonly active: string | null;
  readonly activatedAt: string | null;
  readonly activatedBy: string | null;
  readonly reason: string | null;
  /** Versions this process registers, oldest first. */
  readonly registered: readonly string[];
}

/** One recorded switch of a machine's active policy. */
export interface PolicySwitchView {
  readonly id: number;
  readonly machine: string;
  readonly from: string | null;
  readonly to: string;
  readonly actor: string;
  readonly reason: string;
  readonly at: string;
}

/** A freeze, as listed. */
export interface FreezeView extends FreezeScope {
  readonly until: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly liftedAt: string | null;
  readonly liftedBy: string | null;
  readonly liftReason: string | null;
  /** In force now: not lifted and not past `until`. */
  readonly active: boolean;
}

/** Who changes a rule and why: recorded with the change. */
export interface ChangeBy {
  /** Person or service making the change. */
  readonly actor: string;
  /** Why (shown in `tollgate policy list`, `tollgate freezes` and the problem details of TG_FROZEN). */
  readonly reason: string;
}

/** What a new freeze holds. Lists absent or empty: every event / every state / no exceptions. */
export interface FreezeSpec extends ChangeBy {
  readonly machine: string;
  readonly events?: readonly string[];
  readonly states?: readonly string[];
  readonly except?: readonly string[];
  /** ISO time at which the freeze ends by itself. Default: until lifted. */
  readonly until?: string;
}

/** Run-time rules: the active policy per machine and freezes (docs/governance.md). */
export interface Governance {
  /** Every registered machine's policy status (or one machine's). */
  policies(machine?: string): Promise<PolicyStatus[]>;
  /** Recorded switches, newest first. */
  policySwitches(machine?: string, limit?: number): Promise<PolicySwitchView[]>;
  /** Makes `version` the active policy of `machine` for every process (within 1 s); recorded. */
  activatePolicy(machine: string, version: string, by: ChangeBy): Promise<PolicySwitchView>;
  /** Freezes events of a machine for every process (within 1 s). */
  freeze(spec: FreezeSpec): Promise<FreezeView>;
  /** Lifts a freeze; TG_FREEZE_NOT_FOUND if there is none with that id. Lifting a lifted freeze changes nothing. */
  unfreeze(id: string, by: ChangeBy): Promise<FreezeView>;
  /** Freezes not lifted (with `all`: every freeze ever made). */
  freezes(options?: { all?: boolean }): Promise<FreezeView[]>;
  /** A person's audited repair of one entity, outside the gate (override.ts). */
  override(request: OverrideRequest): Promise<OverrideResult>;
  /**
   * Finds drift (`tollgate audit`, src/audit/): replays the entities changed since their checkpoint through their
   * machine and checks history, snapshot, effects and timers; records the counts per kind for
   * `tollgate_audit_drift_entities`. Writes nothing else.
   */
  audit(options?: AuditOptions): Promise<AuditReport>;
  /** Each registered machine's mode now (or one machine's): `shadow` or `enforce`, and whether a switch set it. */
  modes(machine?: string): Promise<ModeStatus[]>;
  /**
   * Switches a machine between `shadow` (a legacy system writes; `observe` records its transitions; sends are
   * TG_MACHINE_SHADOWED) and `enforce` (the gate decides) for every process within a second; recorded with who,
   * when, why, from and to, like a policy switch.
   *
   * @example
   * await tg.governance.setMode('subscription', 'enforce', { actor: 'ana', reason: 'shadow report clean for 7 days' });
   */
  setMode(machine: string, mode: MachineMode, by: ChangeBy): Promise<ModeSwitchView>;
  /** Recorded mode switches, newest first. */
  modeSwitches(machine?: string, limit?: number): Promise<ModeSwitchView[]>;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function switchView(row: PolicySwitchRow): PolicySwitchView {
  return { id: row.id, machine: row.machine, from: row.from_version, to: row.to_version, actor: row.actor, reason: row.reason, at: iso(row.at) as string };
}

function text(what: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max) {
    throw new TollgateError('TG_INVALID_ARGUMENT', `The ${what} must be a non-empty string of at most ${max} characters.`, { argument: what });
  }
  return value.trim();
}

function names(what: string, list: readonly string[] | undefined): string[] | null {
  if (list === undefined || list.length === 0) return null;
  return list.map((n) => text(`${what} name`, n, 200));
}

/** The governance operations of one runtime. */
export function governance(ctx: RuntimeContext): Governance {
  const store = ctx.governanceStore;
  const freezeView = (row: FreezeRow): FreezeView => {
    const until = row.until === null ? null : new Date(row.until).getTime();
    return {
      id: row.id,
      machine: row.machine,
      events: row.events,
      states: row.states,
      except: row.exceptions,
      reason: row.reason,
      until: iso(row.until),
      createdBy: row.created_by,
      createdAt: iso(row.created_at) as string,
      liftedAt: iso(row.lifted_at),
      liftedBy: row.lifted_by,
      liftReason: row.lift_reason,
      active: row.lifted_at === null && (until === null || until > ctx.clock.now()),
    };
  };
  return {
    async policies(machine) {
      if (machine !== undefined) machineOf(ctx, machine);
      await ctx.governance.current(); // the first use writes the first-registered versions
      const rows = new Map((await store.activePolicies()).map((r) => [r.machine, r]));
      const names = machine === undefined ? [...ctx.machines.keys()] : [machine];
      return names.map((name) => {
        const row = rows.get(name);
        const registered = registeredPolicies(ctx.policyVersions, ctx.policy, name);
        return {
          machine: name,
          active: row?.version ?? null,
          activatedAt: iso(row?.activated_at ?? null),
          activatedBy: row?.activated_by ?? null,
          reason: row?.reason ?? null,
          registered: registered.map((p) => p.version),
        };
      });
    },
    async policySwitches(machine, limit = 20) {
      if (machine !== undefined) machineOf(ctx, machine);
      return (await store.switches(machine, Math.min(Math.max(Math.trunc(limit), 1), 1000))).map(switchView);
    },
    async activatePolicy(machine, version, by) {
      machineOf(ctx, machine);
      const registered = registeredPolicies(ctx.policyVersions, ctx.policy, machine);
      if (!registered.some((p) => p.version === version)) {
        throw new TollgateError(
          'TG_INVALID_ARGUMENT',
          `Policy version '${String(version).slice(0, 100)}' is not registered for machine '${machine}' in this process ` +
            `(registered: ${registered.map((p) => p.version).join(', ') || 'none'}). Activate from a release that registers it.`,
          { machine, argument: 'version' },
        );
      }
      const row = await store.activate(machine, version, checkIdentifier('actor', by.actor, machine), text('reason', by.reason, 1000), new Date(ctx.clock.now()));
      ctx.governance.invalidate();
      return switchView(row);
    },
    async freeze(spec) {
      machineOf(ctx, spec.machine);
      let until: Date | null = null;
      if (spec.until !== undefined) {
        until = new Date(spec.until);
        if (Number.isNaN(until.getTime()) || until.getTime() <= ctx.clock.now()) {
          throw new TollgateError('TG_INVALID_ARGUMENT', `'until' must be an ISO time in the future; got '${String(spec.until).slice(0, 60)}'.`, { argument: 'until' });
        }
      }
      const row = await store.createFreeze({
        id: `frz_${randomBytes(6).toString('hex')}`,
        machine: spec.machine,
        events: names('event', spec.events),
        states: names('state', spec.states),
        except: names('event', spec.except),
        reason: text('reason', spec.reason, 1000),
        until,
        actor: checkIdentifier('actor', spec.actor, spec.machine),
        at: new Date(ctx.clock.now()),
      });
      ctx.governance.invalidate();
      return freezeView(row);
    },
    async unfreeze(id, by) {
      const row = await store.liftFreeze(text('freeze id', id, 100), text('actor', by.actor, 200), text('reason', by.reason, 1000), new Date(ctx.clock.now()));
      ctx.governance.invalidate();
      if (!row) throw new TollgateError('TG_FREEZE_NOT_FOUND', `No freeze '${id.slice(0, 100)}' exists. \`tollgate freezes --all\` lists them.`, { freezeId: id });
      return freezeView(row);
    },
    override: (request) => overrideEntity(ctx, request),
    async modes(machine) {
      const names = machine === undefined ? [...ctx.machines.keys()] : [machine];
      return Promise.all(names.map((name) => modeStatus(ctx, name)));
    },
    setMode: (machine, mode, by) => setMode(ctx, machine, mode, by),
    modeSwitches: (machine, limit) => modeSwitches(ctx, machine, limit),
    async audit(options = {}) {
      if (options.machine !== undefined) machineOf(ctx, options.machine);
      if (options.since !== undefined && Number.isNaN(options.since.getTime())) {
        throw new TollgateError('TG_INVALID_ARGUMENT', "'since' must be a valid time.", { argument: 'since' });
      }
      return runAudit({ machines: ctx.machines, client: ctx.client, schema: ctx.schema, store: auditStore(ctx.client, ctx.schema), now: () => ctx.clock.now() }, options);
    },
    async freezes(options = {}) {
      return (await store.freezes(options.all ?? false)).map(freezeView);
    },
  };
}
