// Type-level tests, checked by `npm run typecheck` (tsc), not run by vitest: each @ts-expect-error must stay an
// error, so if the machines' effect types stop flowing into tg.effect(), the typecheck fails.
import type { Tollgate } from '../../src/index.ts';
import type { machines } from '../../machines/index.ts';

export function effectTyping(tg: Tollgate<typeof machines>): void {
  tg.effect('chargePayment', (ctx) => {
    const cents: number = ctx.params.amountCents;
    const reason: string = ctx.params.reason;
    return { result: { cents, reason } };
  });
  tg.effect('sendEmail', (ctx) => void ctx.params.template.toUpperCase());
  // @ts-expect-error not a custom action of any registered machine
  tg.effect('notifyApplicantTypo', () => {});
  // @ts-expect-error chargePayment's params have no `template`
  tg.effect('chargePayment', (ctx) => void ctx.params.template);
  // @ts-expect-error amountCents is a number
  tg.effect('chargePayment', (ctx) => void ctx.params.amountCents.toUpperCase());
  // A runtime typed by its machines goes where any runtime is expected (startProcesses, buildServer).
  const any: Tollgate = tg;
  any.effect('whatever', (ctx) => void ctx.params);
}
