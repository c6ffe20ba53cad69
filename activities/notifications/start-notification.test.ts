import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel } from '../../domain/notifications/types.js';
import { createNotificationInTransaction } from '../../store/notifications/notifications.js';
import { startHarness, type Harness } from '../../test/harness.js';
import type { ChannelSenders } from './channels/types.js';
import { createDeliveryActivities } from './delivery-activities.js';

let h: Harness;
let tenantId: string;
let activities: ReturnType<typeof createDeliveryActivities>;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  tenantId = (await h.newTenant('Start')).id;
  await h.pool.query(`INSERT INTO notification_templates (tenant_id, id, channels) VALUES ($1, 'start', $2)`,
    [tenantId, { in_app: { title: 'T', body: 'B {{n}}' }, email: { subject: 'S', body: '<p>{{n}}</p>' } }]);
  // The first step never calls a provider: no senders.
  activities = createDeliveryActivities({ pool: h.pool, senders: {} as ChannelSenders });
});

afterAll(async () => {
  await h?.close();
});

async function notify(userId: string, channels: Channel[], critical = false) {
  const { notification } = await createNotificationInTransaction(h.pool, {
    tenantId, userId, templateId: 'start', data: { n: 1 }, channels, priority: 'normal', critical, scheduledAt: null,
  });
  return notification.id;
}

const rowsOf = async (notificationId: string) => ({
  notification: (await h.pool.query('SELECT status FROM notifications WHERE id = $1', [notificationId])).rows[0].status as string,
  deliveries: Object.fromEntries((await h.pool.query('SELECT channel, status, attempts FROM deliveries WHERE notification_id = $1', [notificationId]))
    .rows.map((r) => [r.channel, { status: r.status, attempts: r.attempts }])),
  inbox: (await h.pool.query('SELECT count(*)::int AS n FROM inbox_messages WHERE notification_id = $1', [notificationId])).rows[0].n as number,
});

/** Release 0.2.0's first local step of `notification`: plan, in-app attempt 1, completion, in one transaction. */
describe('startNotification', () => {
  it('an in-app notification due now: delivered and completed in one call; a repeat (a retried step) changes nothing', async () => {
    const id = await notify('now_user', ['in_app']);
    const first = await activities.startNotification({ tenantId, notificationId: id, critical: false });
    expect(first).toMatchObject({ deferUntil: null, completed: true, inApp: [{ status: 'sent' }] });
    expect(await rowsOf(id)).toEqual({ notification: 'completed', deliveries: { in_app: { status: 'sent', attempts: 1 } }, inbox: 1 });

    // Planning skips what is not queued any more: nothing left to deliver, completed again.
    const again = await activities.startNotification({ tenantId, notificationId: id, critical: false });
    expect(again).toEqual({ deliveries: [], deferUntil: null, inApp: [], completed: true });
    expect(await rowsOf(id)).toEqual({ notification: 'completed', deliveries: { in_app: { status: 'sent', attempts: 1 } }, inbox: 1 });
  });

  it('leaves a provider channel to the workflow: in-app sent, email queued with its content, not completed', async () => {
    await h.pool.query(`INSERT INTO user_contacts (tenant_id, user_id, email) VALUES ($1, 'mixed_user', 'm@example.com')`, [tenantId]);
    const id = await notify('mixed_user', ['email', 'in_app']);
    const start = await activities.startNotification({ tenantId, notificationId: id, critical: false });
    expect(start.completed).toBe(false);
    expect(start.deliveries.map((d) => d.channel).sort()).toEqual(['email', 'in_app']);
    expect(start.inApp).toEqual([{ deliveryId: start.deliveries.find((d) => d.channel === 'in_app')!.deliveryId, status: 'sent' }]);
    expect(await rowsOf(id)).toEqual({
      notification: 'processing', inbox: 1,
      deliveries: { email: { status: 'queued', attempts: 0 }, in_app: { status: 'sent', attempts: 1 } },
    });
  });

  it('an opted-out user: skipped, nothing stored, completed; a critical one is delivered anyway', async () => {
    await h.pool.query(`INSERT INTO notification_preferences (tenant_id, user_id, in_app) VALUES ($1, 'opted_out', false)`, [tenantId]);
    const skipped = await notify('opted_out', ['in_app']);
    expect(await activities.startNotification({ tenantId, notificationId: skipped, critical: false }))
      .toMatchObject({ deliveries: [], inApp: [], completed: true });
    expect(await rowsOf(skipped)).toEqual({ notification: 'completed', deliveries: { in_app: { status: 'skipped_opt_out', attempts: 0 } }, inbox: 0 });

    const critical = await notify('opted_out', ['in_app'], true);
    expect(await activities.startNotification({ tenantId, notificationId: critical, critical: true }))
      .toMatchObject({ inApp: [{ status: 'sent' }], completed: true });
    expect((await rowsOf(critical)).inbox).toBe(1);
  });

  it('quiet hours: deferred, nothing delivered yet', async () => {
    const hhmm = (ms: number) => new Date(Date.now() + ms).toISOString().slice(11, 16);
    await h.pool.query(`INSERT INTO notification_preferences (tenant_id, user_id, quiet_hours) VALUES ($1, 'quiet_user', $2)`,
      [tenantId, { start: hhmm(-3_600_000), end: hhmm(3_600_000), time_zone: 'UTC' }]);
    const id = await notify('quiet_user', ['in_app']);
    const start = await activities.startNotification({ tenantId, notificationId: id, critical: false });
    expect(start.deferUntil).not.toBeNull();
    expect(start).toMatchObject({ inApp: [], completed: false });
    expect(await rowsOf(id)).toEqual({ notification: 'deferred', deliveries: { in_app: { status: 'queued', attempts: 0 } }, inbox: 0 });
  });
});
