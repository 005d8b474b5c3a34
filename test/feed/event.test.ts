import { describe, expect, it } from 'vitest';
import { touchesStates } from '../../src/feed/event.ts';

describe('lifecycle feed: --states selection', () => {
  const t = (from: string | null, to: string) => ({ from_state: from, to_state: to });
  it('selects a transition into or out of a state, or a state inside it', () => {
    expect(touchesStates(t('active', 'paused.idle'), ['paused'])).toBe(true);
    expect(touchesStates(t('paused.resuming', 'active'), ['paused'])).toBe(true);
    expect(touchesStates(t('paused.idle', 'paused.resuming'), ['paused.resuming'])).toBe(true);
    expect(touchesStates(t(null, 'trial'), ['trial'])).toBe(true);
    // Parallel states: leaf paths joined by commas.
    expect(touchesStates(t('a.x,b.y', 'a.x,b.z'), ['b.z'])).toBe(true);
    expect(touchesStates(t('active', 'active'), null)).toBe(true);
  });
  it('does not select a state whose name merely starts the same, nor a parent of the state named', () => {
    expect(touchesStates(t('active', 'pausedForever'), ['paused'])).toBe(false);
    expect(touchesStates(t('active', 'paused.idle'), ['paused.resuming'])).toBe(false);
    expect(touchesStates(t('trial', 'active'), ['paused', 'canceled'])).toBe(false);
    expect(touchesStates(t('a.x,b.y', 'a.x,b.z'), ['b.w'])).toBe(false);
  });
});
