import { afterAll, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { isTollgateError } from '../../src/index.ts';
import { startProcesses } from '../../workers/index.ts';
import { testRuntime } from '../support/databases.ts';
import { quietLogger, stopAll } from '../support/processes.ts';

afterAll(stopAll);

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isTollgateError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  return 'no error';
};

describe('effect handler registration', () => {
  it('refuses an effect type no machine declares, and a second handler of one type', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 2 });
    expect(tg.effectTypes()).toEqual(expect.arrayContaining(['chargePayment', 'sendEmail', 'transferFunds']));
    expect(tg.effectTypes()).not.toContain('recordPayment'); // an assign, not an effect
    const loose = tg as unknown as { effect(type: string, handler: () => void): void };
    expect(codeOf(() => loose.effect('notifyApplicantTypo', () => {}))).toMatch(/^TG_INVALID_ARGUMENT: .*'notifyApplicantTypo'.*Effect types: .*chargePayment/);
    expect(codeOf(() => loose.effect('recordPayment', () => {}))).toMatch(/^TG_INVALID_ARGUMENT/);
    tg.effect('sendEmail', () => {});
    expect(codeOf(() => tg.effect('sendEmail', () => {}))).toMatch(/^TG_INVALID_ARGUMENT: .*already registered/);
  });

  it('startProcesses refuses to start effect workers with effect types that have no handler, unless allowed', async () => {
    const tg = await testRuntime('postgres', { machines, maxConnections: 2 });
    tg.effect('chargePayment', () => {});
    const missing = tg.effectTypes().filter((t) => t !== 'chargePayment');
    const refused = await startProcesses(tg, { transport: 'in-process', logger: quietLogger }).then(() => 'started', (e: Error) => e.message);
    expect(refused).toContain('no effect handler for');
    for (const type of missing) expect(refused).toContain(`'${type}'`);
    expect(refused).not.toContain("'chargePayment'");
    // One left out of allowMissingHandlers is still refused; all named, it starts; without effect workers, no check.
    const partly = await startProcesses(tg, { transport: 'in-process', logger: quietLogger, allowMissingHandlers: missing.slice(1) }).then(() => 'started', (e: Error) => e.message);
    expect(partly).toMatch(new RegExp(`^startProcesses: no effect handler for '${missing[0]}':`));
    const started = await startProcesses(tg, { transport: 'in-process', logger: quietLogger, allowMissingHandlers: missing });
    await started.stop();
    const relayOnly = await startProcesses(tg, { transport: 'in-process', logger: quietLogger, effectWorkers: false });
    await relayOnly.stop();
  });
});
