import { z } from 'zod';

/** Request and response shapes of the governance routes (policies and freezes). */

const isoTime = z.iso.datetime({ offset: true });
const reason = z.string().trim().min(1).max(1000).describe('Why: recorded with the change');
const names = z.array(z.string().min(1).max(200)).max(100);

export const policyStatus = z.object({
  machine: z.string(),
  active: z.string().nullable().describe('The version every process applies; null: none yet (the newest registered applies on first use)'),
  activatedAt: isoTime.nullable(),
  activatedBy: z.string().nullable(),
  reason: z.string().nullable(),
  registered: z.array(z.string()).describe('Versions the answering process registers, oldest first'),
});

export const policySwitch = z.object({
  id: z.number().int(),
  machine: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  actor: z.string(),
  reason: z.string(),
  at: isoTime,
});

export const policyList = z.object({ items: z.array(policyStatus), switches: z.array(policySwitch).describe('Recent switches, newest first') });

export const policyQuery = z.strictObject({ machine: z.string().min(1).max(100).optional().describe('Only this machine') });

export const activateBody = z.strictObject({ version: z.string().min(1).max(100).describe('A registered policy version'), reason });

export const freezeView = z.object({
  id: z.string(),
  machine: z.string(),
  events: z.array(z.string()).nullable().describe('Frozen event types; null: every event'),
  states: z.array(z.string()).nullable().describe("Frozen states (prefixes: 'paused' covers 'paused.idle'); null: every state"),
  except: z.array(z.string()).nullable().describe('Event types that go on despite the freeze'),
  reason: z.string(),
  until: isoTime.nullable().describe('When the freeze ends by itself; null: until lifted'),
  createdBy: z.string(),
  createdAt: isoTime,
  liftedAt: isoTime.nullable(),
  liftedBy: z.string().nullable(),
  liftReason: z.string().nullable(),
  active: z.boolean(),
});

export const freezeList = z.object({ items: z.array(freezeView) });

export const freezeQuery = z.strictObject({
  all: z.enum(['true', 'false']).optional().describe('true: lifted and ended freezes too. Default false'),
});

export const freezeBody = z.strictObject({
  machine: z.string().min(1).max(100),
  events: names.optional(),
  states: names.optional(),
  except: names.optional(),
  reason,
  until: isoTime.optional(),
});

export const freezeParams = z.strictObject({ id: z.string().min(1).max(100).describe('Freeze id') });

export const unfreezeQuery = z.strictObject({ reason });
