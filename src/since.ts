const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * The start of a window given as text: a duration back from `now` (`'45s'`, `'30m'`, `'12h'`, `'7d'`, `'2w'`) or a
 * date or ISO time. Undefined when it is neither; the caller words the error for its own surface (flag or argument).
 */
export function parseSince(value: string, now: number): Date | undefined {
  const relative = /^(\d+)([smhdw])$/.exec(value);
  if (relative) return new Date(now - Number(relative[1]) * unitMs[relative[2] as keyof typeof unitMs]);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : new Date(at);
}
