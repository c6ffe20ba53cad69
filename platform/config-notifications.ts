import { z } from 'zod';
import { booleanFromEnv, durationFromEnv, intFromEnv } from './env.js';

/** The public development defaults of the receipt signing secrets (refused by a production API). */
export const DEVELOPMENT_CALLBACK_SECRETS = {
  EMAIL_CALLBACK_SECRET: 'dev-email-callback-secret',
  SMS_CALLBACK_SECRET: 'dev-sms-callback-secret',
  PUSH_CALLBACK_SECRET: 'dev-push-callback-secret',
} as const;

/**
 * Notifications (issue #5): providers, retries, task queues, the outbox relay. Spread into the one
 * schema in platform/config.ts. Provider URLs default to the local simulators `npm start` runs.
 */
export const notificationEnv = {
  /**
   * Workflows run on this queue; deliveries on `<queue>-<channel>-<priority>`, whose pollers
   * autoscale from 1 while idle up to these (high has more).
   */
  TASK_QUEUE_NOTIFICATIONS: z.string().min(1).max(200).default('notifications'),
  NOTIFICATION_POLLERS_HIGH: intFromEnv(8, 1, 100),
  NOTIFICATION_POLLERS_NORMAL: intFromEnv(2, 1, 100),
  /** Email: an SMTP URL (smtp://user:pass@host:port; smtps:// for implicit TLS) and the From address. */
  SMTP_URL: z.string().url().default('smtp://127.0.0.1:2525'),
  SMTP_FROM: z.string().min(3).max(320).default('Steadfast <notifications@steadfast.local>'),
  /**
   * Push: an FCM-like HTTP API (`send-each`). Messages of single notifications and broadcasts share
   * provider calls: one call per PUSH_BATCH_SIZE messages, or once the oldest waited PUSH_BATCH_WINDOW.
   */
  PUSH_PROVIDER_URL: z.string().url().default('http://127.0.0.1:4020/push'),
  PUSH_BATCH_SIZE: intFromEnv(500, 1, 1_000),
  PUSH_BATCH_WINDOW: durationFromEnv('1s'),
  /** Recipients a broadcast sends per page (one activity, one commit), 1 to 5,000. */
  BROADCAST_PAGE_SIZE: intFromEnv(1_000, 1, 5_000),
  /** How long one page may take before Temporal retries it elsewhere (a worker died mid-page). */
  BROADCAST_PAGE_TIMEOUT: durationFromEnv('2m'),
  /**
   * E-mail digests (preference `digest: {email: "1h"}`): the windows a user may choose (1 s to
   * 24 h; tests shorten the minimum), and how many e-mails one digest holds (more go at once).
   */
  DIGEST_WINDOW_MIN: durationFromEnv('15m').pipe(z.number().int().min(1_000).max(86_400_000)),
  DIGEST_WINDOW_MAX: durationFromEnv('24h').pipe(z.number().int().min(1_000).max(86_400_000)),
  DIGEST_MESSAGES_MAX: intFromEnv(100, 1, 1_000),
  /** SMS: a Twilio-like HTTP API (form-encoded, basic auth with the account sid and token). */
  SMS_PROVIDER_URL: z.string().url().default('http://127.0.0.1:4020/sms'),
  SMS_ACCOUNT_SID: z.string().min(1).max(100).default('AC_steadfast_dev'),
  SMS_AUTH_TOKEN: z.string().min(1).max(200).default('dev-token'),
  SMS_FROM: z.string().min(1).max(32).default('+15550000000'),
  /**
   * Delivery receipts (contract §10): each provider's shared secret for its signed status callbacks
   * (`POST /v1/provider-callbacks/:provider`, `Provider-Signature`). The development defaults are
   * public: a production API refuses to start with them (api/notifications/provider-callbacks.ts).
   */
  EMAIL_CALLBACK_SECRET: z.string().min(16).max(200).default(DEVELOPMENT_CALLBACK_SECRETS.EMAIL_CALLBACK_SECRET),
  SMS_CALLBACK_SECRET: z.string().min(16).max(200).default(DEVELOPMENT_CALLBACK_SECRETS.SMS_CALLBACK_SECRET),
  PUSH_CALLBACK_SECRET: z.string().min(16).max(200).default(DEVELOPMENT_CALLBACK_SECRETS.PUSH_CALLBACK_SECRET),
  /** Simulators only: where they post their receipts (`<url>/email|sms|push`); unset, they send none. */
  PROVIDER_CALLBACK_URL: z.string().url().optional(),
  /**
   * SSE inbox streams (`GET /v1/users/:id/inbox/stream`) one API process holds open: in all, per
   * tenant (default: half of SSE_STREAMS_MAX, so one tenant cannot take every slot) and per user.
   * One more is `429 rate_limited` with Retry-After.
   */
  SSE_STREAMS_MAX: intFromEnv(1_000, 1, 100_000),
  SSE_STREAMS_MAX_PER_TENANT: z.coerce.number().int().min(1).max(100_000).optional(),
  SSE_STREAMS_MAX_PER_USER: intFromEnv(10, 1, 1_000),
  /** Where the local simulators listen (npm start, tests). */
  PROVIDERS_SIM_PORT: intFromEnv(4020, 0, 65_535),
  SMTP_SIM_PORT: intFromEnv(2525, 0, 65_535),
  /** How long one provider call may take. */
  PROVIDER_TIMEOUT_MS: intFromEnv(5_000, 50, 120_000),
  /** Channel deliveries: attempts and exponential backoff (with jitter) between them. */
  NOTIFICATION_RETRY_MAX_ATTEMPTS: intFromEnv(5, 1, 100),
  NOTIFICATION_RETRY_INITIAL_INTERVAL: durationFromEnv('1s'),
  NOTIFICATION_RETRY_MAX_INTERVAL: durationFromEnv('5m'),
  NOTIFICATION_RETRY_BACKOFF: z.coerce.number().min(1).max(10).default(2),
  /** Merchant webhooks: retried over hours (defaults: 12 attempts, 30 s doubling up to 2 h ≈ 11 h). */
  WEBHOOK_RETRY_MAX_ATTEMPTS: intFromEnv(12, 1, 100),
  WEBHOOK_RETRY_INITIAL_INTERVAL: durationFromEnv('30s'),
  WEBHOOK_RETRY_MAX_INTERVAL: durationFromEnv('2h'),
  WEBHOOK_TIMEOUT_MS: intFromEnv(10_000, 100, 60_000),
  /** The outbox relay (runs in the worker process): batch size and the fallback poll interval. */
  OUTBOX_RELAY_ENABLED: booleanFromEnv('true'),
  OUTBOX_BATCH_SIZE: intFromEnv(100, 1, 1_000),
  OUTBOX_POLL_INTERVAL: durationFromEnv('5s'),
  /** Relayed events are deleted this long after they were relayed (checked hourly by the relay). */
  OUTBOX_RETENTION: durationFromEnv('7d'),
};
