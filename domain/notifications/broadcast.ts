import { quietHoursEnd } from './quiet-hours.js';
import type { QuietHours } from './types.js';

/**
 * A broadcast's rules per recipient (contract §10), pure: which channels send, which are skipped
 * and why, which wait for the recipient's quiet hours to end, and the counts. The store reads the
 * recipients of a page in one statement; the activity sends what these rules say and writes the
 * outcomes with the page.
 */

export const BROADCAST_CHANNELS = ['in_app', 'push', 'email', 'sms'] as const;
export type BroadcastChannel = (typeof BROADCAST_CHANNELS)[number];
export const BROADCAST_STATUSES = ['queued', 'sending', 'completed', 'cancelled'] as const;
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];
/** What the page decides: sent, failed, skipped — or deferred until the recipient's quiet hours end. */
export const BROADCAST_OUTCOMES = ['sent', 'failed', 'skipped_opt_out', 'skipped_no_contact'] as const;
export type BroadcastOutcome = (typeof BROADCAST_OUTCOMES)[number];
/** A delivery's status: an outcome, `deferred` until sent, then `delivered`/`bounced` from the provider's receipt. */
export const BROADCAST_DELIVERY_STATUSES = ['deferred', ...BROADCAST_OUTCOMES, 'delivered', 'bounced'] as const;
export type BroadcastDeliveryStatus = (typeof BROADCAST_DELIVERY_STATUSES)[number];

export interface BroadcastRecipient {
  userId: string;
  /** The user's preference per channel: false is opted out; null or absent, opted in (the default). */
  preferences: Partial<Record<BroadcastChannel, boolean | null>>;
  pushTokens: readonly string[];
  /** Where e-mail and SMS go (null: none, or the address bounced and is suppressed). */
  email?: string | null;
  phone?: string | null;
  quietHours?: QuietHours | null;
  /** The contact's BCP 47 locale: render with `renderForLocale` (domain/notifications/locales.ts). */
  locale?: string | null;
}

export type ChannelPlan =
  | { channel: BroadcastChannel; action: 'send' }
  | { channel: BroadcastChannel; action: 'deferred'; deliverAfter: Date }
  | { channel: BroadcastChannel; action: 'skipped_opt_out' | 'skipped_no_contact' };

const hasContact = (recipient: BroadcastRecipient, channel: BroadcastChannel): boolean => {
  switch (channel) {
    case 'in_app': return true;
    case 'push': return recipient.pushTokens.length > 0;
    case 'email': return Boolean(recipient.email);
    case 'sms': return Boolean(recipient.phone);
  }
};

/**
 * What each of the broadcast's channels does for one recipient at `now`, before any provider is
 * asked: an opt-out or a missing contact skips (opted out wins: the user said no); inside the
 * recipient's quiet hours every channel that would send waits until they end (a broadcast is never
 * `critical`, so it never bypasses them).
 */
export function planRecipient(recipient: BroadcastRecipient, channels: readonly BroadcastChannel[], now = new Date()): ChannelPlan[] {
  const quietUntil = recipient.quietHours ? quietHoursEnd(now, recipient.quietHours) : null;
  return channels.map((channel): ChannelPlan => {
    if (recipient.preferences[channel] === false) return { channel, action: 'skipped_opt_out' };
    if (!hasContact(recipient, channel)) return { channel, action: 'skipped_no_contact' };
    if (quietUntil) return { channel, action: 'deferred', deliverAfter: quietUntil };
    return { channel, action: 'send' };
  });
}

/** A recipient's push: sent when the provider took at least one of their tokens, else failed. */
export function pushOutcome(tokens: readonly string[], rejected: ReadonlySet<string>): 'sent' | 'failed' {
  return tokens.some((token) => !rejected.has(token)) ? 'sent' : 'failed';
}

export type BroadcastCounts = Record<BroadcastOutcome, number>;

/** Counts the final outcomes (a `deferred` delivery is counted once it is sent). */
export function countOutcomes(statuses: readonly BroadcastDeliveryStatus[]): BroadcastCounts {
  const counts: BroadcastCounts = { sent: 0, failed: 0, skipped_opt_out: 0, skipped_no_contact: 0 };
  for (const status of statuses) if (status in counts) counts[status as BroadcastOutcome]++;
  return counts;
}
