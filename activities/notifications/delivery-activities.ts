import { ApplicationFailure } from '@temporalio/activity';
import type { NotificationStatus } from '../../domain/notifications/types.js';
import { withTransaction } from '../../platform/db.js';
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
      await pool.query(
        `UPDATE notifications SET status = $3, updated_at = now() WHERE id = $1 AND tenant_id = $2 AND status <> 'cancelled'`,
        [input.notificationId, input.tenantId, input.status],
      );
    },

    /** A scheduled or deferred notification is cancelled: it and its queued deliveries. */
    async cancelNotification(input: NotificationRef) {
      await withTransaction(pool, async (client) => {
        await client.query(`UPDATE notifications SET status = 'cancelled', updated_at = now() WHERE id = $1 AND tenant_id = $2`,
          [input.notificationId, input.tenantId]);
        await client.query(`UPDATE deliveries SET status = 'cancelled', updated_at = now() WHERE notification_id = $1 AND status = 'queued'`,
          [input.notificationId]);
      });
    },

    attemptDelivery: (input: { tenantId: string; deliveryId: string; attempt: number }) =>
      attemptDelivery(deps, input),

    /** After the last attempt: the delivery waits in the dead letters for an ops retry. */
    async deadLetter(input: { tenantId: string; deliveryId: string; attempts: number }) {
      await pool.query(
        `UPDATE deliveries SET status = 'dead_lettered', attempts = greatest(attempts, $3), updated_at = now()
         WHERE id = $1 AND tenant_id = $2 AND status = 'queued'`,
        [input.deliveryId, input.tenantId, input.attempts],
      );
    },

    async deliveryAttempts(input: { tenantId: string; deliveryId: string }): Promise<{ attempts: number }> {
      const { rows: [row] } = await pool.query('SELECT attempts FROM deliveries WHERE id = $1 AND tenant_id = $2',
        [input.deliveryId, input.tenantId]);
      if (!row) throw ApplicationFailure.create({ type: 'delivery_missing', message: input.deliveryId, nonRetryable: true });
      return { attempts: row.attempts as number };
    },

    planEvent: (input: { tenantId: string; eventId: string }) => withTransaction(pool, (client) => planEvent(client, input)),
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
