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

  it('e-mail needs an address and SMS a phone (a bounced one reads as none); opted out still wins', () => {
    const reachable = { ...user(), email: 'a@example.com', phone: '+15551234567' };
    expect(planRecipient(reachable, ['email', 'sms']).map((p) => p.action)).toEqual(['send', 'send']);
    expect(planRecipient({ ...reachable, email: null }, ['email', 'sms']).map((p) => p.action)).toEqual(['skipped_no_contact', 'send']);
    expect(planRecipient({ ...reachable, phone: null, preferences: { sms: false } }, ['sms']).map((p) => p.action)).toEqual(['skipped_opt_out']);
  });

  it('inside quiet hours every channel that would send waits until they end; skips are decided now', () => {
    const now = new Date('2025-01-15T22:30:00Z');
    const night = { ...user({ push: false }), email: 'a@example.com', quietHours: { start: '22:00', end: '07:00', time_zone: 'UTC' } };
    expect(planRecipient(night, ['in_app', 'push', 'email', 'sms'], now)).toEqual([
      { channel: 'in_app', action: 'deferred', deliverAfter: new Date('2025-01-16T07:00:00Z') },
      { channel: 'push', action: 'skipped_opt_out' },
      { channel: 'email', action: 'deferred', deliverAfter: new Date('2025-01-16T07:00:00Z') },
      { channel: 'sms', action: 'skipped_no_contact' },
    ]);
    // Outside them (the morning after): sent now.
    expect(planRecipient(night, ['in_app'], new Date('2025-01-16T07:00:00Z')).map((p) => p.action)).toEqual(['send']);
  });

  it('a push is sent when the provider took any of the user’s tokens', () => {
    expect(pushOutcome(['a', 'b'], new Set(['a']))).toBe('sent');
    expect(pushOutcome(['a', 'b'], new Set(['a', 'b']))).toBe('failed');
  });

  it('counts each outcome', () => {
    expect(countOutcomes(['sent', 'sent', 'failed', 'skipped_no_contact'])).toEqual({ sent: 2, failed: 1, skipped_opt_out: 0, skipped_no_contact: 1 });
    // Deferred is not an outcome yet: counted when it is sent.
    expect(countOutcomes(['deferred', 'sent'])).toEqual({ sent: 1, failed: 0, skipped_opt_out: 0, skipped_no_contact: 0 });
  });
});
