/**
 * A broadcast's rules per recipient (contract §10), pure: which channels send, which are skipped
 * and why, and the counts. The store reads the recipients of a page in one statement; the
 * activity sends what these rules say and writes the outcomes with the page.
 */

export const BROADCAST_CHANNELS = ['in_app', 'push'] as const;
export type BroadcastChannel = (typeof BROADCAST_CHANNELS)[number];
export const BROADCAST_STATUSES = ['queued', 'sending', 'completed', 'cancelled'] as const;
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];
export const BROADCAST_DELIVERY_STATUSES = ['sent', 'failed', 'skipped_opt_out', 'skipped_no_contact'] as const;
export type BroadcastDeliveryStatus = (typeof BROADCAST_DELIVERY_STATUSES)[number];

export interface BroadcastRecipient {
  userId: string;
  /** The user's preference per channel: false is opted out; null or absent, opted in (the default). */
  preferences: Partial<Record<BroadcastChannel, boolean | null>>;
  pushTokens: readonly string[];
}

export type ChannelPlan = { channel: BroadcastChannel; action: 'send' } | { channel: BroadcastChannel; action: 'skipped_opt_out' | 'skipped_no_contact' };

/** What each of the broadcast's channels does for one recipient before any provider is asked. */
export function planRecipient(recipient: BroadcastRecipient, channels: readonly BroadcastChannel[]): ChannelPlan[] {
  return channels.map((channel) => {
    if (recipient.preferences[channel] === false) return { channel, action: 'skipped_opt_out' };
    if (channel === 'push' && recipient.pushTokens.length === 0) return { channel, action: 'skipped_no_contact' };
    return { channel, action: 'send' };
  });
}

/** A recipient's push: sent when the provider took at least one of their tokens, else failed. */
export function pushOutcome(tokens: readonly string[], rejected: ReadonlySet<string>): 'sent' | 'failed' {
  return tokens.some((token) => !rejected.has(token)) ? 'sent' : 'failed';
}

export type BroadcastCounts = Record<BroadcastDeliveryStatus, number>;

export function countOutcomes(statuses: readonly BroadcastDeliveryStatus[]): BroadcastCounts {
  const counts: BroadcastCounts = { sent: 0, failed: 0, skipped_opt_out: 0, skipped_no_contact: 0 };
  for (const status of statuses) counts[status]++;
  return counts;
}
