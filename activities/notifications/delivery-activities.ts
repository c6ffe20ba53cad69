import { NotificationError } from '../../domain/notifications/errors.js';
import type { NotificationStatus } from '../../domain/notifications/types.js';
import { withTransaction } from '../../store/db.js';
import { cancelQueuedDeliveries, deadLetterDelivery, findDeliveryAttempts } from '../../store/notifications/deliveries.js';
import { markNotificationCancelled, setNotificationStatus } from '../../store/notifications/notifications.js';
import { asActivityStep } from '../failure.js';
import { attemptDelivery, type DeliveryDeps } from './attempt-delivery.js';
import { planEvent } from './event-plan.js';
import { planNotification } from './plan-notification.js';

type NotificationRef = { tenantId: string; notificationId: string };

/**
 * The activities of the notification workflows. Control steps (plan, status, dead letter) run on
 * the notifications queue; `attemptDelivery` runs on the per-channel, per-priority queues.
 */
export function createDeliveryActivities(deps: DeliveryDeps & { now?: () => Date }) {
  const { pool } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    planNotification: (input: NotificationRef & { critical: boolean }) =>
      withTransaction(pool, (client) => planNotification(client, { ...input, now: now() })),

    async setNotificationStatus(input: NotificationRef & { status: Extract<NotificationStatus, 'processing' | 'completed'> }) {
      await setNotificationStatus(pool, input);
    },

    /** A scheduled or deferred notification is cancelled: it and its queued deliveries. */
    async cancelNotification(input: NotificationRef) {
      await withTransaction(pool, async (client) => {
        await markNotificationCancelled(client, input.tenantId, input.notificationId);
        await cancelQueuedDeliveries(client, input.notificationId);
      });
    },

    attemptDelivery: (input: { tenantId: string; deliveryId: string; attempt: number }) =>
      attemptDelivery(deps, input),

    /** After the last attempt: the delivery waits in the dead letters for an ops retry. */
    async deadLetter(input: { tenantId: string; deliveryId: string; attempts: number }) {
      await deadLetterDelivery(pool, input);
    },

    /** A delivery that is gone fails the workflow's step for good (`delivery_missing`). */
    deliveryAttempts: (input: { tenantId: string; deliveryId: string }): Promise<{ attempts: number }> => asActivityStep(async () => {
      const attempts = await findDeliveryAttempts(pool, input.tenantId, input.deliveryId);
      if (attempts === null) throw new NotificationError('delivery_missing', input.deliveryId);
      return { attempts };
    }),

    planEvent: (input: { tenantId: string; eventId: string }) => withTransaction(pool, (client) => planEvent(client, input)),
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
