import { userInfo } from 'node:os';

/** Flag of the commands that change rules: who is recorded as making the change. */
export const actorFlag = { actor: { type: 'string' } } as const;

export const actorFlagHelp = '  --actor NAME        recorded as who made the change (default: $TOLLGATE_ACTOR, else the OS user)';

/** `--actor`, else TOLLGATE_ACTOR, else the OS user name. */
export function actorOf(flag: string | undefined): string {
  if (flag) return flag;
  if (process.env.TOLLGATE_ACTOR) return process.env.TOLLGATE_ACTOR;
  try {
    return userInfo().username || 'cli';
  } catch {
    return 'cli';
  }
}

/** Splits `A,B` into names; undefined when the flag is absent. */
export function listFlag(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
