/** Notifications (contract §5): channels, priorities, statuses and template shapes. */
export const CHANNELS = ['email', 'sms', 'push', 'in_app'] as const;
export type Channel = (typeof CHANNELS)[number];
/** A delivery goes over a user channel, or to a merchant's webhook endpoint. */
export type DeliveryChannel = Channel | 'webhook';

export const PRIORITIES = ['high', 'normal'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** `delivered` and `bounced` come after `sent`, from the provider's receipt (domain/notifications/receipts.ts). */
/** `held`: an e-mail waiting in the user's digest (domain/notifications/digest.ts); it becomes `sent` with the digest. */
export const DELIVERY_STATUSES = [
  'queued', 'held', 'sent', 'delivered', 'bounced', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/**
 * No attempt changes a delivery in one of these states again (except an ops retry of a dead
 * letter); only a provider's receipt moves `sent` (or `delivered`) on.
 */
export const FINAL_DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'sent', 'delivered', 'bounced', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled',
];

/** scheduled: waits for scheduled_at; deferred: waits for quiet hours to end; completed: every delivery final. */
export const NOTIFICATION_STATUSES = ['scheduled', 'deferred', 'processing', 'completed', 'cancelled'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export interface TemplateChannels {
  email?: { subject: string; body: string };
  sms?: { body: string };
  push?: { title: string; body: string };
  in_app?: { title: string; body: string };
}

/** Locale variants of a template's channels, by canonical BCP 47 tag (`fr`, `fr-CA`). */
export type TemplateLocales = Record<string, TemplateChannels>;

/** What rendering for a recipient needs of a template: its default channels and their translations. */
export interface LocalizedTemplate {
  channels: TemplateChannels;
  locales: TemplateLocales;
}

/** The channels a template has content for, in the canonical order. */
export function templateChannels(channels: TemplateChannels): Channel[] {
  return CHANNELS.filter((channel) => channels[channel] !== undefined);
}

/** Local wall-clock times `HH:MM` in an IANA time zone; `end` before `start` spans midnight. */
export interface QuietHours {
  start: string;
  end: string;
  time_zone: string;
}

/** What a delivery sends, rendered once when the notification is planned (retries send the same). */
export type RenderedContent =
  | { channel: 'email'; subject: string; html: string; text: string }
  | { channel: 'sms'; body: string }
  | { channel: 'push'; title: string; body: string }
  | { channel: 'in_app'; title: string; body: string };

/** Domain events the outbox carries (written in the transaction of the change they describe). */
export const EVENT_TYPES = [
  'transfer.succeeded', 'payment.captured', 'payment.refunded', 'payment.failed', 'leave.requested', 'leave.decided',
  'payroll.paid', 'interview.reminder', 'offer.approval_requested', 'offer.extended', 'offer.decided',
  'review.reminder', 'review.escalated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** Events a merchant can subscribe a webhook endpoint to ('*' = all of them). */
export const WEBHOOK_EVENT_TYPES = ['payment.captured', 'payment.refunded', 'payment.failed', 'transfer.succeeded'] as const;

/** Attempts and exponential backoff (with jitter) of one delivery, from config (the workflow reads no env). */
export interface RetrySettings {
  maxAttempts: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
  backoffCoefficient: number;
}
