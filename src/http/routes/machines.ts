import type { Tollgate } from '../../runtime/create-tollgate.ts';
import { canAccessMachine } from '../auth.ts';
import { describeMachine, describeMachineInDetail } from '../../introspect/machine-info.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import { mermaidDiagram } from '../../introspect/mermaid.ts';
import { machineGraph } from '../../introspect/machine-graph.ts';
import { machineDetail, machineDiagram, machineGraphView, machineList, machineParams, machineStatsQuery, machineStatsView } from '../schemas.ts';
import { portsOf } from '../../runtime/ports.ts';

const tag = 'machines';

/** The registered machines (a key limited to some machines sees only those). */
export function machineRoutes(tg: Tollgate): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/machines',
      operationId: 'listMachines',
      summary: 'Registered machines with their versions, states and events',
      tag,
      access: 'read',
      success: { status: 200, description: 'The machines this key may access', schema: machineList },
      errors: [],
      handler: async ({ caller }) => ({
        items: Object.entries(tg.machines)
          .filter(([name]) => canAccessMachine(caller, name))
          .map(([name, definition]) => describeMachine(name, definition)),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/machines/{machine}',
      operationId: 'getMachine',
      summary: "One machine: states, events, their JSON Schemas and the machine's JSON definition",
      tag,
      access: 'read',
      params: machineParams,
      success: { status: 200, description: 'The machine', schema: machineDetail },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: async ({ params }) => describeMachineInDetail(params.machine, portsOf(tg).definition(params.machine)),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/machines/{machine}/diagram',
      operationId: 'getMachineDiagram',
      summary: 'The inspector: the machine as a Mermaid state diagram with how many entities are in each state now',
      tag,
      access: 'read',
      params: machineParams,
      success: { status: 200, description: 'The diagram and the counts it draws', schema: machineDiagram },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: async ({ params }) => {
        const definition = portsOf(tg).definition(params.machine);
        const stateCounts = await tg.stateCounts(params.machine);
        return {
          name: params.machine,
          version: definition.version,
          entities: Object.values(stateCounts).reduce((a, b) => a + b, 0),
          stateCounts,
          mermaid: mermaidDiagram(definition.machine, stateCounts),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/machines/{machine}/stats',
      operationId: 'getMachineStats',
      summary: 'The fleet now: entities, stuck entities, refusals, effects and conflict retries per state',
      description:
        'Counts per state path (an entity counts in its state and every state around it); stuck: over the state\'s ' +
        '`meta.maxDwell`; refusals of the last 15 minutes per event and code; effects not completed, per state their ' +
        'transition entered; conflict retries per edge as counted by the answering process since it started. ' +
        'With `byVersion=true`, the canary comparison: per machine version, the share of transitions per (state, event) ' +
        'and of entities per state, flagging shares that differ between versions by more than `threshold`.',
      tag,
      access: 'read',
      params: machineParams,
      query: machineStatsQuery,
      success: { status: 200, description: 'The stats', schema: machineStatsView },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params, query }) => {
        const stats = await tg.machineStats(params.machine);
        if (query.byVersion !== 'true') return stats;
        const options = { ...(query.threshold !== undefined ? { threshold: query.threshold } : {}), ...(query.since ? { since: new Date(query.since) } : {}) };
        return { ...stats, byVersion: await tg.versionStats(params.machine, options) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/machines/{machine}/graph',
      operationId: 'getMachineGraph',
      summary: 'The machine as nested states and labelled transitions, for drawing (the inspector lays it out)',
      tag,
      access: 'read',
      params: machineParams,
      success: { status: 200, description: 'The graph', schema: machineGraphView },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: async ({ params }) => machineGraph(params.machine, portsOf(tg).definition(params.machine).machine),
    }),
  ];
}
