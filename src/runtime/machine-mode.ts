import type { MachineMode } from '../engine/definition.ts';
import { TollgateError, entityRef } from '../errors.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';

/** One machine's mode now. */
export interface ModeStatus {
  readonly machine: string;
  readonly mode: MachineMode;
  /** `definition`: no switch recorded, the definition's `mode` applies; `switch`: the last recorded switch. */
  readonly source: 'definition' | 'switch';
}

/** The mode `machine` runs in now: the recorded switch every process reads, or the definition's mode. */
export async function modeStatus(ctx: RuntimeContext, machine: string): Promise<ModeStatus> {
  const definition = machineOf(ctx, machine);
  const switched = (await ctx.governance.current()).modes.get(machine);
  if (switched === 'shadow' || switched === 'enforce') return { machine, mode: switched, source: 'switch' };
  return { machine, mode: definition.mode ?? 'enforce', source: 'definition' };
}

/** TG_MACHINE_SHADOWED when `machine` is in shadow mode: the legacy system writes its entities, not the gate. */
export async function refuseIfShadowed(ctx: RuntimeContext, machine: string, id: string, event: string): Promise<void> {
  if ((await modeStatus(ctx, machine)).mode !== 'shadow') return;
  ctx.metrics.rejections.inc({ machine, state: '(shadow)', event, code: 'TG_MACHINE_SHADOWED' });
  throw new TollgateError(
    'TG_MACHINE_SHADOWED',
    `Machine '${machine}' is in shadow mode: a legacy system writes its entities, so '${event}' for ${entityRef(machine, id)} ` +
      `was not applied. Report the legacy system's transitions with observe (POST .../observations), or switch the machine ` +
      `to enforce (\`tollgate mode ${machine} enforce --reason ...\`).`,
    { machine, entityId: id, event },
  );
}

