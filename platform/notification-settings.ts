import type { Config } from './config.js';
import type { RetrySettings } from '../domain/notifications/types.js';

/** Retry settings from config, handed to the workflows in their input (workflows read no env). */
export function notificationRetry(config: Config): RetrySettings {
  return {
    maxAttempts: config.NOTIFICATION_RETRY_MAX_ATTEMPTS,
    initialIntervalMs: config.NOTIFICATION_RETRY_INITIAL_INTERVAL,
    maxIntervalMs: config.NOTIFICATION_RETRY_MAX_INTERVAL,
    backoffCoefficient: config.NOTIFICATION_RETRY_BACKOFF,
  };
}

export function webhookRetry(config: Config): RetrySettings {
  return {
    maxAttempts: config.WEBHOOK_RETRY_MAX_ATTEMPTS,
    initialIntervalMs: config.WEBHOOK_RETRY_INITIAL_INTERVAL,
    maxIntervalMs: config.WEBHOOK_RETRY_MAX_INTERVAL,
    backoffCoefficient: 2,
  };
}

/** What every `event-<evt_id>` run gets besides its event (part of the domainEvent workflow's input). */
export interface EventWorkflowSettings {
  notificationRetry: RetrySettings;
  webhookRetry: RetrySettings;
  deliveryQueuePrefix: string;
  notificationTaskQueue: string;
}

export function eventWorkflowSettings(config: Config): EventWorkflowSettings {
  return {
    notificationRetry: notificationRetry(config),
    webhookRetry: webhookRetry(config),
    deliveryQueuePrefix: config.TASK_QUEUE_NOTIFICATIONS,
    notificationTaskQueue: config.TASK_QUEUE_NOTIFICATIONS,
  };
}

/** A `broadcast-<bc_id>` run's input (workflows/notifications/broadcast.ts): the broadcast, and its page settings from config. */
export function broadcastWorkflowInput(config: Config, b: { tenantId: string; id: string; scheduledAt: Date | null }) {
  return {
    tenantId: b.tenantId, broadcastId: b.id, scheduledAt: b.scheduledAt?.toISOString() ?? null,
    pageSize: config.BROADCAST_PAGE_SIZE, pageTimeoutMs: config.BROADCAST_PAGE_TIMEOUT,
  };
}
