import { defineUpdate } from '@temporalio/workflow';
import type { Channel, EventType, Priority, RetrySettings } from '../../domain/notifications/types.js';

export type { RetrySettings };

/** `notification-<ntf_id>` on TASK_QUEUE_NOTIFICATIONS: the row and its queued deliveries exist already. */
export interface NotificationInput {
  tenantId: string;
  notificationId: string;
  priority: Priority;
  critical: boolean;
  /** ISO time; the workflow sleeps durably until then (cancellable). */
  scheduledAt: string | null;
  channels: Channel[];
  retry: RetrySettings;
  /** Delivery task queues are `<deliveryQueuePrefix>-<channel>-<priority>`. */
  deliveryQueuePrefix: string;
}

export interface NotificationResult {
  status: 'completed' | 'cancelled';
}

/** Cancels a scheduled or deferred notification (refused once deliveries have started). */
export const cancelNotificationUpdate = defineUpdate<{ status: 'cancelled' }, []>('cancel');

/** `event-<evt_id>`: the relay starts one per outbox event, so each event is handled exactly once. */
export interface DomainEventInput {
  tenantId: string;
  eventId: string;
  topic: EventType | string;
  notificationRetry: RetrySettings;
  webhookRetry: RetrySettings;
  deliveryQueuePrefix: string;
  /** Where child notification workflows run. */
  notificationTaskQueue: string;
}

/** `dead-letter-retry-<dlv_id>-<n>`: one more round of attempts for a dead-lettered delivery. */
export interface DeadLetterRetryInput {
  tenantId: string;
  deliveryId: string;
  channel: Channel | 'webhook';
  priority: Priority;
  retry: RetrySettings;
  deliveryQueuePrefix: string;
}

/** The task queue a channel's deliveries of one priority run on. Pure: used by workflows and workers. */
export function deliveryTaskQueue(prefix: string, channel: Channel | 'webhook', priority: Priority): string {
  return `${prefix}-${channel}-${priority}`;
}
