/**
 * Waits for `work` for up to `ms`. True if it settled in time (resolved or rejected: the caller only needs it
 * over), false past the deadline, with `work` left running. Shutdown paths use it so that a Redis or a database
 * that stopped answering cannot hold a process open.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
