import { z } from 'zod';

/** Request and response shapes of shadow mode: observations, the shadow report and machine modes. */

const isoTime = z.iso.datetime({ offset: true });
const state = z.union([z.string().min(1).max(1000), z.record(z.string(), z.unknown())]);
const verdict = z.enum(['legal', 'illegal', 'diverged', 'unknown-entity']);
const mode = z.enum(['shadow', 'enforce']);

export const observationBody = z
  .strictObject({
    event: z.string().min(1).max(200).describe("The legacy system's name for what happened (an event type of the machine to be judged legal)"),
    from: state.nullable().optional().describe('Where the legacy system says the entity was: a dotted path or a state value. Default: not said'),
    to: state.describe('Where the legacy system put it: a leaf state of the machine'),
    at: isoTime.describe('When it happened: the mirror enters `to` then; its timers count from there'),
    payload: z.record(z.string(), z.unknown()).optional().describe("The event's payload (what guards read), checked against the event's schema"),
    context: z.record(z.string(), z.unknown()).optional().describe("The entity's context after the move, as the legacy system holds it (starts an unknown entity's mirror)"),
    key: z.string().min(1).max(200).optional().describe('Observation key (or the Idempotency-Key header): a second report under it answers the first one'),
  })
  .describe('A transition the legacy system made');

export const observationView = z.object({
  id: z.number().int(),
  machine: z.string(),
  entityId: z.string(),
  key: z.string().nullable(),
  event: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  mirrorState: z.string().nullable().describe("Where tollgate's mirror was (null: no mirror)"),
  expectedState: z.string().nullable().describe('Where the machine would have gone from the mirror (null: it would have refused, or no mirror)'),
  verdict,
  code: z.string().nullable().describe('The code tollgate would have refused with (illegal)'),
  reason: z.string().nullable(),
  at: isoTime,
  recordedAt: isoTime,
  replayed: z.boolean().describe('Answered from an earlier report under the same key: nothing written now'),
});

export const observationList = z.object({ items: z.array(observationView).describe('Newest first') });

export const reportQuery = z.strictObject({
  since: z
    .union([z.string().regex(/^\d{1,6}[smhdw]$/, "a duration ('7d', '12h')"), isoTime])
    .optional()
    .describe("Window start: a duration back from now ('7d', '12h', '30m') or an ISO time. Default 7d"),
});

export const shadowReport = z.object({
  machine: z.string(),
  mode,
  since: isoTime,
  verdicts: z.object({ legal: z.number().int(), illegal: z.number().int(), diverged: z.number().int(), 'unknown-entity': z.number().int() }),
  lines: z.array(
    z.object({
      verdict: z.enum(['illegal', 'diverged']),
      from: z.string().nullable(),
      event: z.string(),
      to: z.string(),
      code: z.string().nullable(),
      count: z.number().int(),
      exampleIds: z.array(z.string()),
      firstAt: isoTime,
      lastAt: isoTime,
    }),
  ),
});

export const modeStatus = z.object({
  machine: z.string(),
  mode,
  source: z.enum(['definition', 'switch']).describe("'definition': no switch recorded, the definition's mode applies"),
});

export const modeSwitch = z.object({ id: z.number().int(), machine: z.string(), from: mode, to: mode, actor: z.string(), reason: z.string(), at: isoTime });

export const modeList = z.object({ items: z.array(modeStatus), switches: z.array(modeSwitch).describe('Recent switches, newest first') });

export const modeQuery = z.strictObject({ machine: z.string().min(1).max(100).optional().describe('Only this machine') });

export const modeBody = z.strictObject({ mode, reason: z.string().trim().min(1).max(1000).describe('Why: recorded with the switch') });
