import { NotificationError } from '../../domain/notifications/errors.js';
import type { NotificationStatus } from '../../domain/notifications/types.js';
import { withTransaction } from '../../store/db.js';
import { cancelQueuedDeliveries, deadLetterDelivery, findDeliveryAttempts } from '../../store/notifications/deliveries.js';
import { markNotificationCancelled, setNotificationStatus } from '../../store/notifications/notifications.js';
import { asActivityStep } from '../failure.js';
import { metrics } from '../../platform/metrics.js';
import { attemptDelivery, attemptInAppIn, type DeliveryDeps } from './attempt-delivery.js';
import { planEvent } from './event-plan.js';
import { planNotification, type NotificationPlan } from './plan-notification.js';

type NotificationRef = { tenantId: string; notificationId: string };

/** `startNotification`'s answer: the plan, the in-app deliveries' first attempts, and whether that finished it. */
export interface NotificationStart extends NotificationPlan {
  /** Attempt 1 of each planned in-app delivery (none when the plan defers the notification). */
  inApp: { deliveryId: string; status: 'sent' | 'failed' }[];
  /** Every planned delivery was in-app and is final: the notification is `completed` already. */
  completed: boolean;
}

/**
 * The activities of the notification workflows. Control steps (plan, status, dead letter) run on
 * the notifications queue; `attemptDelivery` runs on the per-channel, per-priority queues.
 */
export function createDeliveryActivities(deps: DeliveryDeps & { now?: () => Date }) {
  const { pool, cache } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    planNotification: (input: NotificationRef & { critical: boolean }) =>
      withTransaction(pool, (client) => planNotification(client, { ...input, now: now(), cache })),

    /**
     * Release 0.2.0's first step (a local activity): `planNotification`, then, unless quiet hours
     * defer it, attempt 1 of each in-app delivery (preferences checked again, as at every attempt),
     * and `completed` when nothing else is left — one transaction, so an in-app notification due
     * now is one step. Idempotent like its parts: run again, it plans nothing twice, finds its
     * in-app deliveries ended, and completes again.
     */
    async startNotification(input: NotificationRef & { critical: boolean }): Promise<NotificationStart> {
      let stored = 0;
      const start = await withTransaction(pool, async (client): Promise<NotificationStart> => {
        stored = 0;
        const plan = await planNotification(client, { ...input, now: now(), cache });
        if (plan.deferUntil) return { ...plan, inApp: [], completed: false };
        const inApp: NotificationStart['inApp'] = [];
        for (const { deliveryId, channel } of plan.deliveries) {
          if (channel !== 'in_app') continue;
          const attempt = await attemptInAppIn(client, { tenantId: input.tenantId, deliveryId, attempt: 1 }, cache);
          if (attempt.stored) stored++;
          inApp.push({ deliveryId, status: attempt.status });
        }
        const completed = inApp.length === plan.deliveries.length;
        if (completed) await setNotificationStatus(client, { tenantId: input.tenantId, notificationId: input.notificationId, status: 'completed' });
        return { ...plan, inApp, completed };
      });
      if (stored > 0) metrics.deliveries.inc({ channel: 'in_app', outcome: 'sent' }, stored);
      return start;
    },

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
