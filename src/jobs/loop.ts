/** A loop that runs `round` when woken or every `intervalMs`, and again at once while `round` says "more". */
export interface Loop {
  /** Runs a round soon (a NOTIFY arrived, the clock moved). */
  wake(): void;
  /** Stops after the current round. */
  stop(): Promise<void>;
}

export function startLoop(round: () => Promise<boolean>, intervalMs: number, onError: (error: unknown) => void): Loop {
  let running = true;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  const sleep = () =>
    new Promise<void>((resolve) => {
      if (woken) return resolve();
      const timer = setTimeout(done, intervalMs);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  const finished = (async () => {
    while (running) {
      woken = false;
      let more = false;
      try {
        more = await round();
      } catch (error) {
        if (running) onError(error);
      }
      if (!more && running) await sleep();
    }
  })();
  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await finished;
    },
  };
}
