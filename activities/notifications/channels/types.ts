/**
 * The adapter interface every outside provider sits behind (email over SMTP, push and SMS over
 * their HTTP APIs, merchant webhooks over HTTP). The delivery activity calls one `send` per attempt.
 */
export interface SendResult {
  /** The provider's id for what it accepted (SMTP Message-ID / response id, push/SMS message id). */
  providerMessageId: string | null;
  /** The HTTP status the provider answered (HTTP channels). */
  responseStatus?: number;
}

/**
 * A failed send. `retryable` false means the provider refused the request for good (bad number,
 * 4xx other than 408/429): the delivery is `failed` at once instead of retried.
 */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(message: string, readonly retryable: boolean, readonly responseStatus?: number) {
    super(message);
  }
}

/** Every send carries a key unique to the delivery, stable across its attempts (`<delivery id>`). */
export interface EmailMessage { to: string; subject: string; html: string; text: string; idempotencyKey: string }
export interface SmsMessage { to: string; body: string; idempotencyKey: string }
export interface PushMessage { tokens: string[]; title: string; body: string; idempotencyKey: string }
export interface WebhookRequest {
  url: string;
  secret: string;
  eventId: string;
  /** The exact bytes sent (and signed): rendered once, so every attempt signs the same body. */
  rawBody: string;
  idempotencyKey: string;
}

export interface EmailSender { send(message: EmailMessage): Promise<SendResult>; close(): void }
export interface SmsSender { send(message: SmsMessage): Promise<SendResult> }
/** Sends to every token, in batches of the configured size; fails if no token was accepted. */
export interface PushSender { send(message: PushMessage): Promise<SendResult & { rejectedTokens: string[] }> }
export interface WebhookSender { send(request: WebhookRequest): Promise<SendResult> }

export interface ChannelSenders {
  email: EmailSender;
  sms: SmsSender;
  push: PushSender;
  webhook: WebhookSender;
}
