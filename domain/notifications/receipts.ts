/**
 * Delivery receipts (contract §10): a provider's signed status callback says what became of a
 * message it accepted. Callbacks may come late, twice or out of order, so a receipt is a move
 * along a one-way table, never a plain overwrite: `sent` → `delivered` or `bounced`, `delivered`
 * → `bounced` (an e-mail the receiving server took can still bounce), and `bounced` is final. A
 * receipt that finds its delivery elsewhere (a duplicate, a `delivered` after the `bounced`)
 * changes nothing.
 */

/** The providers that send receipts; each one's name is the channel its message ids belong to. */
export const RECEIPT_PROVIDERS = ['email', 'sms', 'push'] as const;
export type ReceiptProvider = (typeof RECEIPT_PROVIDERS)[number];

export const RECEIPT_STATUSES = ['delivered', 'bounced'] as const;
export type ReceiptStatus = (typeof RECEIPT_STATUSES)[number];

/**
 * The header a provider signs its callback with: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">` under that provider's shared secret, the scheme of our own merchant webhooks
 * (domain/notifications/signature.ts).
 */
export const PROVIDER_SIGNATURE_HEADER = 'Provider-Signature';

/** The statuses each receipt moves a delivery on from (the store's `WHERE status = ANY (…)`). */
export const RECEIPT_MOVES_FROM: Readonly<Record<ReceiptStatus, readonly string[]>> = {
  delivered: ['sent'],
  bounced: ['sent', 'delivered'],
};

/** What a receipt makes of a delivery in `status`: its new status, or null when it changes nothing. */
export function statusAfterReceipt(status: string, receipt: ReceiptStatus): ReceiptStatus | null {
  return RECEIPT_MOVES_FROM[receipt].includes(status) ? receipt : null;
}

/** The form a bounced address is kept in: e-mail addresses compare case-insensitively in practice. */
export function bouncedAddressKey(channel: ReceiptProvider, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address.trim();
}

/** The body every provider posts (JSON), as the simulators send it and the API validates it. */
export interface ReceiptCallback {
  /** The provider's id of this callback (informational; duplicates are harmless anyway). */
  id: string;
  /** The provider's id of the message, as it answered the send (SMS sid, push message id, e-mail Message-ID). */
  message_id: string;
  status: ReceiptStatus;
  /** The address, number or push token the message went to. */
  recipient: string;
  /** ISO 8601 time the provider saw the outcome. */
  occurred_at: string;
  /** The provider's reason for a bounce (e.g. Twilio `30003`, SMTP `5.1.1`). */
  error_code?: string | null;
}
