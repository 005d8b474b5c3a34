import type { Tollgate } from '../../runtime/create-tollgate.ts';
import { canAccessMachine, requireMachine, type Caller } from '../auth.ts';
import {
  activateBody,
  freezeBody,
  freezeList,
  freezeParams,
  freezeQuery,
  freezeView,
  policyList,
  policyQuery,
  policySwitch,
  unfreezeQuery,
} from '../governance-schemas.ts';
import { machineParams } from '../schemas.ts';
import { modeBody, modeList, modeQuery, modeSwitch } from '../shadow-schemas.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';

const tag = 'governance';

/** Recorded as who made a change: the API key's name (`api` on an open server). */
const actor = (caller: Caller) => caller.name ?? 'api';

/** Policies and freezes: what every process applies now (docs/governance.md). */
export function governanceRoutes(tg: Tollgate): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/policies',
      operationId: 'listPolicies',
      summary: "Each machine's active policy version, the versions this process registers, and recent switches",
      tag,
      access: 'read',
      query: policyQuery,
      success: { status: 200, description: 'The policies', schema: policyList },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: async ({ query, caller }) => {
        if (query.machine !== undefined) requireMachine(caller, query.machine);
        const items = (await tg.governance.policies(query.machine)).filter((p) => canAccessMachine(caller, p.machine));
        const switches = (await tg.governance.policySwitches(query.machine)).filter((s) => canAccessMachine(caller, s.machine));
        return { items, switches };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/policies/{machine}:activate',
      operationId: 'activatePolicy',
      summary: "Switch a machine's active policy version (every process applies it within 1 s; recorded)",
      tag,
      access: 'admin',
      params: machineParams,
      body: activateBody,
      success: { status: 200, description: 'The recorded switch', schema: policySwitch },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: ({ params, body, caller }) => tg.governance.activatePolicy(params.machine, body.version, { actor: actor(caller), reason: body.reason }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/modes',
      operationId: 'listModes',
      summary: "Each machine's mode (shadow: a legacy system writes, enforce: the gate decides) and recent switches",
      tag,
      access: 'read',
      query: modeQuery,
      success: { status: 200, description: 'The modes', schema: modeList },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: async ({ query, caller }) => {
        if (query.machine !== undefined) requireMachine(caller, query.machine);
        const items = (await tg.governance.modes(query.machine)).filter((m) => canAccessMachine(caller, m.machine));
        const switches = (await tg.governance.modeSwitches(query.machine)).filter((s) => canAccessMachine(caller, s.machine));
        return { items, switches };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/modes/{machine}:switch',
      operationId: 'switchMode',
      summary: 'Switch a machine between shadow and enforce mode (every process applies it within 1 s; recorded)',
      description:
        'In shadow mode sends and creates are refused with TG_MACHINE_SHADOWED and POST .../observations records what the ' +
        'legacy system did; in enforce mode the gate decides and observations are refused with TG_MACHINE_ENFORCED.',
      tag,
      access: 'admin',
      params: machineParams,
      body: modeBody,
      success: { status: 200, description: 'The recorded switch', schema: modeSwitch },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: ({ params, body, caller }) => tg.governance.setMode(params.machine, body.mode, { actor: actor(caller), reason: body.reason }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/freezes',
      operationId: 'listFreezes',
      summary: 'Freezes not lifted (all=true: every freeze)',
      tag,
      access: 'read',
      query: freezeQuery,
      success: { status: 200, description: 'The freezes', schema: freezeList },
      errors: [],
      handler: async ({ query, caller }) => ({
        items: (await tg.governance.freezes({ all: query.all === 'true' })).filter((f) => canAccessMachine(caller, f.machine)),
      }),
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/freezes',
      operationId: 'createFreeze',
      summary: "Freeze a machine's events (optionally only some events or states, with exceptions) for every process within 1 s",
      description: 'While the freeze matches, a send is refused with TG_FROZEN (423, retryable); reads, dry runs and excepted events go on.',
      tag,
      access: 'admin',
      body: freezeBody,
      success: { status: 201, description: 'The freeze', schema: freezeView },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: async ({ body, caller }) => {
        requireMachine(caller, body.machine);
        return tg.governance.freeze({ ...body, actor: actor(caller) });
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/freezes/{id}',
      operationId: 'liftFreeze',
      summary: 'Lift a freeze (?reason= is recorded)',
      tag,
      access: 'admin',
      params: freezeParams,
      query: unfreezeQuery,
      success: { status: 200, description: 'The lifted freeze', schema: freezeView },
      errors: ['TG_FREEZE_NOT_FOUND'],
      handler: async ({ params, query, caller }) => {
        const known = (await tg.governance.freezes({ all: true })).find((f) => f.id === params.id);
        if (known) requireMachine(caller, known.machine);
        return tg.governance.unfreeze(params.id, { actor: actor(caller), reason: query.reason });
      },
    }),
  ];
}
