import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { z } from 'zod';
import type { AnyMachineDefinition, EventSamples, SamplePayload } from '../engine/definition.ts';

// The types live beside MachineDefinition.pathTesting, which carries them.
export type { EventSamples, SamplePayload };

/** Resolves the sample events of every event type of `definition` in `snapshot`. */
export function sampleEvents(
  machineName: string,
  definition: AnyMachineDefinition,
  samples: EventSamples,
  type: string,
  snapshot: AnyMachineSnapshot,
): EventObject[] {
  const given = samples[type];
  const payloads: readonly SamplePayload[] =
    given === undefined
      ? [derivedPayload(machineName, definition, type)]
      : typeof given === 'function'
        ? given(snapshot)
        : Array.isArray(given)
          ? (given as readonly SamplePayload[])
          : [given as SamplePayload];
  return payloads.map((payload) => {
    if (payload.type !== undefined && payload.type !== type) {
      throw new Error(`pathTests('${machineName}'): the sample under events.${type} has type '${String(payload.type)}'.`);
    }
    return { ...payload, type };
  });
}

const derivedCache = new WeakMap<z.ZodType, SamplePayload>();

/**
 * A payload that the event's zod schema accepts, built from its shape when that is trivial. Throws a message
 * naming the event and the option to use otherwise.
 */
export function derivedPayload(machineName: string, definition: AnyMachineDefinition, type: string): SamplePayload {
  const schema = definition.events[type];
  if (!schema) throw new Error(`pathTests('${machineName}'): '${type}' is not in the definition's events.`);
  const cached = derivedCache.get(schema);
  if (cached) return cached;
  for (const candidate of [{}, guess(schema)]) {
    if (candidate !== undefined && schema.safeParse(candidate).success) {
      const payload = candidate as SamplePayload;
      derivedCache.set(schema, payload);
      return payload;
    }
  }
  throw new Error(
    `pathTests('${machineName}'): cannot derive a valid payload for event '${type}' from its schema. ` +
      `Pass one: pathTests(..., { events: { ${type}: { /* payload */ } } }).`,
  );
}

interface ZodDefLike {
  readonly type: string;
  readonly shape?: Record<string, { _zod: { def: ZodDefLike } }>;
  readonly innerType?: { _zod: { def: ZodDefLike } };
  readonly values?: readonly unknown[];
  readonly entries?: Record<string, unknown>;
  readonly checks?: ReadonlyArray<{ _zod: { def: { check: string; value?: unknown } } }>;
}

// Reads zod 4's public `_zod.def`: enough for flat objects of strings, numbers, booleans, literals and enums.
function guess(schema: unknown): unknown {
  const def = (schema as { _zod?: { def?: ZodDefLike } })._zod?.def;
  if (!def) return undefined;
  switch (def.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(def.shape ?? {})) {
        const fieldDef = field._zod.def;
        if (fieldDef.type === 'optional') continue;
        const value = guess(field);
        if (value === undefined) return undefined;
        out[key] = value;
      }
      return out;
    }
    case 'string':
      return 'sample';
    case 'number': {
      const min = def.checks?.find((c) => c._zod.def.check === 'greater_than')?._zod.def.value;
      return typeof min === 'number' ? Math.floor(min) + 1 : 1;
    }
    case 'boolean':
      return true;
    case 'literal':
      return def.values?.[0];
    case 'enum':
      return Object.values(def.entries ?? {})[0];
    case 'default':
    case 'nullable':
      return def.innerType ? guess(def.innerType) : undefined;
    default:
      return undefined;
  }
}
