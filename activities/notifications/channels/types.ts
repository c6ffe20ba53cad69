/**
 * The adapter interface every outside provider sits behind (email over SMTP, push and SMS over
 * their HTTP APIs, merchant webhooks over HTTP). The delivery activity calls one `send` per attempt.
 */
export interface SendResult {
  /** The provider's id for what it accepted (email: our Message-ID; SMS: the message sid; push: the first message id). */
  providerMessageId: string | null;
  /** The status the provider answered: HTTP status (HTTP channels), SMTP reply code (email). */
  responseStatus?: number;
}

/**
 * Why a send failed, stable for metrics and logs:
 * - `unreachable`: no connection (refused, DNS, TLS); `timeout`: no answer in time (outcome unknown:
 *   the retry carries the same idempotency key / Message-ID);
 * - `provider_unavailable`: 5xx, 429, 408, SMTP 4xx; `auth_failed`: our credentials were refused
 *   (retryable: a fixed configuration lets dead letters be replayed);
 * - `rejected`: the provider refused this request (4xx, SMTP 5xx; for good, except a merchant
 *   endpoint's 4xx, which is retried); `recipient_rejected`:
 *   the address or number is invalid; `tokens_unregistered`: no push token was accepted;
 *   `endpoint_gone`: the webhook endpoint answered 410; `unexpected_response`: an answer we cannot read;
 *   `address_refused`: the webhook URL is or resolves to an address the SSRF policy refuses (no connection made).
 */
export type DeliveryErrorCode =
  | 'unreachable'
  | 'timeout'
  | 'provider_unavailable'
  | 'auth_failed'
  | 'rejected'
  | 'recipient_rejected'
  | 'tokens_unregistered'
  | 'endpoint_gone'
  | 'address_refused'
  | 'unexpected_response';

/**
 * A failed send. `retryable` false means the provider refused the request for good (bad number,
 * 4xx other than 408/429): the delivery is `failed` at once instead of retried.
 */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly responseStatus?: number,
    readonly code: DeliveryErrorCode = retryable ? 'provider_unavailable' : 'rejected',
  ) {
    super(message);
  }
}

/** Every send carries a key unique to the delivery, stable across its attempts (`<delivery id>`). */
export interface EmailMessage { to: string; subject: string; html: string; text: string; idempotencyKey: string }
export interface SmsMessage { to: string; body: string; idempotencyKey: string }
export interface PushMessage { tokens: string[]; title: string; body: string; idempotencyKey: string }
export interface WebhookRequest {
  url: string;
  /**
   * The endpoint's secrets as stored, sealed (the current one, then the one a rotation replaced
   * while its grace lasts): the sender opens them only to sign, so they are never in clear in
   * an activity's input or result.
   */
  sealedSecrets: readonly string[];
  eventId: string;
  /** The exact bytes sent (and signed): rendered once, so every attempt signs the same body. */
  rawBody: string;
  idempotencyKey: string;
}

export interface EmailSender { send(message: EmailMessage): Promise<SendResult>; close(): void }
/** One bulk message's answer: its sid, or why it was refused (`permanent`: the number cannot receive). */
export type SmsItemResult = { sid: string } | { error: string; permanent: boolean };
export interface SmsSender {
  send(message: SmsMessage): Promise<SendResult>;
  sendBulk(messages: SmsMessage[]): Promise<SmsItemResult[]>;
}
/** One message to one token, with the key the provider dedupes it by (with the token). */
export interface PushItem { token: string; title: string; body: string; idempotencyKey: string }
/** The provider's answer for one item: a message id, or its error code (`permanent`: the token is gone). */
export type PushItemResult = { token: string; messageId: string } | { token: string; error: string; permanent: boolean };

/**
 * Push, batched across messages (see push.ts): `send` one message to a user's tokens (fails if no
 * token was accepted); `sendEach` many items (a broadcast page; `flush` sends what waits without
 * waiting for the window), failing if a provider call failed; `close` sends what still waits.
 */
export interface PushSender {
  send(message: PushMessage): Promise<SendResult & { rejectedTokens: string[] }>;
  sendEach(items: PushItem[], options?: { flush?: boolean }): Promise<PushItemResult[]>;
  close(): Promise<void>;
}
export interface WebhookSender { send(request: WebhookRequest): Promise<SendResult> }

export interface ChannelSenders {
  email: EmailSender;
  sms: SmsSender;
  push: PushSender;
  webhook: WebhookSender;
}
