import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../store/db.js';
import { createNotificationInTransaction } from '../../store/notifications/notifications.js';
import { startHarness, type Harness } from '../../test/harness.js';
import { attemptDelivery } from './attempt-delivery.js';
import type { ChannelSenders } from './channels/types.js';
import { planNotification } from './plan-notification.js';

let h: Harness;
let tenantId: string;
/** In-app deliveries are stored, never sent: no provider is called in these tests. */
const senders = {} as ChannelSenders;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  tenantId = (await h.newTenant('Attempts')).id;
  await h.pool.query(`INSERT INTO notification_templates (tenant_id, id, channels) VALUES ($1, 'attempts', $2)`,
    [tenantId, { in_app: { title: 'T', body: 'B {{n}}' } }]);
});

afterAll(async () => {
  await h?.close();
});

/** A notification planned while the user had in-app on; returns its delivery id. */
async function planned(userId: string, critical: boolean): Promise<string> {
  const { notification } = await createNotificationInTransaction(h.pool, {
    tenantId, userId, templateId: 'attempts', data: { n: 1 }, channels: ['in_app'], priority: 'normal', critical, scheduledAt: null,
  });
  const plan = await withTransaction(h.pool, (c) => planNotification(c, { tenantId, notificationId: notification.id, critical, now: new Date() }));
  expect(plan.deliveries).toHaveLength(1);
  return plan.deliveries[0]!.deliveryId;
}

describe('attemptDelivery', () => {
  it('checks the preferences again at each attempt: opted out since the plan → skipped, not sent', async () => {
    const deliveryId = await planned('late_opt_out', false);
    await h.pool.query(`INSERT INTO notification_preferences (tenant_id, user_id, in_app) VALUES ($1, 'late_opt_out', false)`, [tenantId]);
    const result = await attemptDelivery({ pool: h.pool, senders }, { tenantId, deliveryId, attempt: 1 });
    expect(result.status).toBe('failed');
    const { rows } = await h.pool.query('SELECT status FROM deliveries WHERE id = $1', [deliveryId]);
    expect(rows[0].status).toBe('skipped_opt_out');
    expect((await h.pool.query(`SELECT count(*)::int AS n FROM inbox_messages WHERE tenant_id = $1 AND user_id = 'late_opt_out'`, [tenantId])).rows[0].n).toBe(0);
  });

  it('a critical notification is delivered despite the opt-out; a second attempt changes nothing', async () => {
    const deliveryId = await planned('critical_user', true);
    await h.pool.query(`INSERT INTO notification_preferences (tenant_id, user_id, in_app) VALUES ($1, 'critical_user', false)`, [tenantId]);
    expect((await attemptDelivery({ pool: h.pool, senders }, { tenantId, deliveryId, attempt: 1 })).status).toBe('sent');
    expect((await attemptDelivery({ pool: h.pool, senders }, { tenantId, deliveryId, attempt: 2 })).status).toBe('sent');
    const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM inbox_messages WHERE tenant_id = $1 AND user_id = 'critical_user'`, [tenantId]);
    expect(rows[0].n).toBe(1);
    expect((await h.pool.query('SELECT attempts FROM deliveries WHERE id = $1', [deliveryId])).rows[0].attempts).toBe(1);
  });
});
