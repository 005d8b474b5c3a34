/**
 * Resolves after the first SIGTERM or SIGINT, once `stop` finished: the graceful shutdown of the long-running
 * commands. A second signal during the shutdown exits at once with 130.
 */
export function untilSignal(stop: (signal: NodeJS.Signals) => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`tollgate: ${signal} received, shutting down\n`);
      stop(signal).then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`tollgate: shutdown failed: ${(error as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
