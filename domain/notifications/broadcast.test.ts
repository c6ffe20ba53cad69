import { describe, expect, it } from 'vitest';
import { countOutcomes, planRecipient, pushOutcome } from './broadcast.js';

describe('broadcast rules', () => {
  const user = (preferences = {}, pushTokens: string[] = ['t1']) => ({ userId: 'u', preferences, pushTokens });

  it('a channel sends unless the user opted out of it; push also needs a token', () => {
    expect(planRecipient(user(), ['in_app', 'push'])).toEqual([{ channel: 'in_app', action: 'send' }, { channel: 'push', action: 'send' }]);
    expect(planRecipient(user({ push: false }), ['in_app', 'push']).map((p) => p.action)).toEqual(['send', 'skipped_opt_out']);
    expect(planRecipient(user({ in_app: null }, []), ['in_app', 'push']).map((p) => p.action)).toEqual(['send', 'skipped_no_contact']);
    // Opted out wins over no contact: the user said no.
    expect(planRecipient(user({ push: false }, []), ['push']).map((p) => p.action)).toEqual(['skipped_opt_out']);
  });

  it('a push is sent when the provider took any of the user’s tokens', () => {
    expect(pushOutcome(['a', 'b'], new Set(['a']))).toBe('sent');
    expect(pushOutcome(['a', 'b'], new Set(['a', 'b']))).toBe('failed');
  });

  it('counts each outcome', () => {
    expect(countOutcomes(['sent', 'sent', 'failed', 'skipped_no_contact'])).toEqual({ sent: 2, failed: 1, skipped_opt_out: 0, skipped_no_contact: 1 });
  });
});
