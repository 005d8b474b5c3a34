/**
 * A progress bar on stderr for the long commands (entities migrate, deploy-check, replay): redrawn in place on a
 * terminal, a line per 10% otherwise; nothing with --json (`quiet`).
 */
export function progressBar(quiet: boolean): { update: (p: { done: number; total: number; failed?: number }) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  let drawn = false;
  return {
    update({ done, total, failed }) {
      if (quiet || total === 0) return;
      const share = Math.min(done / total, 1);
      const line = `[${'#'.repeat(Math.round(share * 30)).padEnd(30, '.')}] ${done}/${total}${failed ? `, ${failed} failed` : ''}`;
      if (tty) {
        process.stderr.write(`\r${line}`);
        drawn = true;
      } else if (Math.floor(share * 10) > lastTenth) {
        lastTenth = Math.floor(share * 10);
        process.stderr.write(`${line}\n`);
      }
    },
    done() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

