import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { machines } from '../../machines/index.ts';
import { mermaidDiagram } from '../../src/introspect/mermaid.ts';

describe('mermaidDiagram', () => {
  it('nests compound states with their own initial marker and labels transitions EVENT [guard] / effects', () => {
    const text = mermaidDiagram(machines.subscription.machine);
    expect(text.split('\n')[0]).toBe('stateDiagram-v2');
    expect(text).toContain('  [*] --> trial');
    expect(text).toMatch(/ {2}state paused \{\n {4}\[\*\] --> idle\n/);
    expect(text).toContain('    idle --> resuming : RESUME / chargePayment');
    expect(text).toContain('  trial --> active : after trialPeriod [hasPaymentMethod] / chargePayment');
    expect(text).toContain('  active --> active : RENEW / chargePayment'); // targetless: a self-loop
    expect(text).toContain('  paused --> canceled : CANCEL / sendEmail');
    expect(text).toContain('  canceled --> [*]');
    // Declared in its own block before the nested block that first points at it.
    expect(text.indexOf('state "active" as active')).toBeLessThan(text.indexOf('resuming --> active'));
  });

  it('separates parallel regions with -- and draws done transitions', () => {
    const text = mermaidDiagram(machines.order.machine);
    expect(text).toMatch(/state paid \{\n {4}state shipment \{[\s\S]*?\n {4}\}\n {4}--\n {4}state invoicing \{/);
    expect(text).toContain('      delivered --> [*]');
    expect(text).toContain('  paid --> completed : done / sendEmail');
    expect(text).toContain('  pending --> paid : PAY [paysInFull] / capturePayment');
  });

  it('gives states that share a key distinct ids, labelled with the key', () => {
    const machine = setup({}).createMachine({
      id: 'm',
      initial: 'a',
      states: {
        a: { initial: 'idle', states: { idle: { on: { GO: 'busy' } }, busy: {} } },
        b: { initial: 'idle', states: { idle: {} } },
      },
    });
    const text = mermaidDiagram(machine);
    expect(text).toContain('state "idle" as a_idle');
    expect(text).toContain('state "idle" as b_idle');
    expect(text).toContain('a_idle --> busy : GO');
  });
});
