import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { DeliveryActivities } from '../../activities/notifications/delivery-activities.js';
import { ledgerActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import { deliverWithRetries } from './deliver.js';
import { cancelNotificationUpdate, type NotificationInput, type NotificationResult } from './types.js';

const store = proxyActivities<DeliveryActivities>(ledgerActivity);

/**
 * One notification: wait for `scheduled_at` (cancellable), resolve preferences and contacts
 * (opted-out and contact-less channels are skipped; `critical` bypasses preferences and quiet
 * hours), wait for the user's quiet hours to end (cancellable), then deliver every channel in
 * parallel on its own task queue with retries; the ones that run out of attempts are dead-lettered.
 */
export async function notification(input: NotificationInput): Promise<NotificationResult> {
  const base = { tenantId: input.tenantId, notificationId: input.notificationId };
  let started = false;
  let cancelRequested = false;
  let cancelled = false;

  setHandler(cancelNotificationUpdate, async () => {
    cancelRequested = true;
    await condition(() => cancelled);
    return { status: 'cancelled' as const };
  }, {
    validator: () => {
      if (started || cancelRequested) {
        throw ApplicationFailure.create({
          type: 'notification_invalid_state', nonRetryable: true,
          message: 'Only a scheduled or deferred notification can be cancelled.',
        });
      }
    },
  });

  /** Sleeps until `at` unless cancelled first; true when it was cancelled (and recorded). */
  async function waitUntil(at: string | null): Promise<boolean> {
    const ms = at === null ? 0 : Date.parse(at) - Date.now();
    if (ms > 0) await condition(() => cancelRequested, ms);
    if (!cancelRequested) return false;
    await store.cancelNotification(base);
    setBusinessStatus('cancelled');
    cancelled = true;
    return true;
  }

  setBusinessStatus(input.scheduledAt ? 'scheduled' : 'processing');
  if (await waitUntil(input.scheduledAt)) return { status: 'cancelled' };

  const plan = await store.planNotification({ ...base, critical: input.critical });
  if (plan.deferUntil) setBusinessStatus('deferred');
  // Also catches a cancel accepted while the plan ran.
  if (await waitUntil(plan.deferUntil)) return { status: 'cancelled' };
  if (plan.deferUntil) await store.setNotificationStatus({ ...base, status: 'processing' });
  started = true;
  setBusinessStatus('processing');
  await Promise.all(plan.deliveries.map((delivery) => deliverWithRetries({
    tenantId: input.tenantId, deliveryId: delivery.deliveryId, channel: delivery.channel, priority: input.priority,
    retry: input.retry, queuePrefix: input.deliveryQueuePrefix,
  })));
  await store.setNotificationStatus({ ...base, status: 'completed' });
  setBusinessStatus('completed');
  return { status: 'completed' };
}
