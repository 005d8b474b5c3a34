import type { EffectView, EntityView, TransitionView } from '../runtime/views.ts';

/**
 * A readable timeline of an entity: one line per transition (seq, time, event, from -> to, actor, key), its
 * effects with their status under it, and the state now.
 *
 * @example
 * subscription/s1: now active (version 2, status active)
 *   #1  2026-01-01 10:00:00Z  created               -> trial
 *   #2  2026-01-01 10:00:05Z  UPGRADE        trial -> active        by writer, key k1
 *         effect chargePayment: completed
 */
export function formatTimeline(entity: EntityView, transitions: readonly TransitionView[], effects: readonly EffectView[]): string {
  const effectsBySeq = new Map<number, EffectView[]>();
  for (const effect of effects) effectsBySeq.set(effect.seq, [...(effectsBySeq.get(effect.seq) ?? []), effect]);
  const eventWidth = Math.max(7, ...transitions.map((t) => label(t).length));
  const fromWidth = Math.max(0, ...transitions.map((t) => (t.fromState ?? '').length));
  const lines = [`${entity.machine}/${entity.id}: now ${entity.state} (version ${entity.version}, status ${entity.status})`];
  for (const t of transitions) {
    const who = [t.actor ? `by ${t.actor}` : '', t.idempotencyKey ? `key ${t.idempotencyKey}` : ''].filter(Boolean).join(', ');
    lines.push(
      `  #${String(t.seq).padEnd(3)} ${t.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}  ${label(t).padEnd(eventWidth)}  ` +
        `${(t.fromState ?? '').padStart(fromWidth)} -> ${t.toState}${who ? `   ${who}` : ''}`,
    );
    for (const effect of effectsBySeq.get(t.seq) ?? []) {
      const attempts = effect.attempts > 1 ? ` after ${effect.attempts} attempts` : '';
      lines.push(`        effect ${effect.type}: ${effect.status}${attempts}`);
    }
  }
  if (entity.nextEvents.length > 0) lines.push(`  next events: ${entity.nextEvents.join(', ')}`);
  return lines.join('\n');
}

function label(t: TransitionView): string {
  if (t.eventType === 'xstate.init') return 'created';
  const after = /^xstate\.after\.([^.]+)\./.exec(t.eventType);
  return after ? `after ${after[1]}` : t.eventType;
}
