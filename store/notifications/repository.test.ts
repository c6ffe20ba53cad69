import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { newId } from '../../domain/ids.js';
import { NotificationError } from '../../domain/notifications/errors.js';
import { createPool, withTransaction } from '../db.js';
import { eventually } from '../../test/eventually.js';
import { testConfig } from '../../test/harness.js';
import {
  createNotification, createNotificationInTransaction, createTemplate, deleteUnstartedNotification, findTemplate, getContacts,
  getNotification, getPreferences, inboxMessagesAfter, insertInboxMessage, listDeadLetters, listInbox, markInboxMessageRead,
  putContacts, putPreferences, requeueDeadLetter, restoreDeadLetter, type NewNotification,
} from './repository.js';

let pool: pg.Pool;
let tenantId: string;
let otherTenantId: string;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, 8);
  tenantId = (await createTenant(pool, 'notification repository')).id;
  otherTenantId = (await createTenant(pool, 'notification repository, other')).id;
});
afterAll(async () => {
  await pool?.end();
});

const input = (overrides: Partial<NewNotification> = {}): NewNotification => ({
  tenantId, userId: 'user-1', templateId: 'transfer.received', data: { amount: '1.00' }, channels: ['in_app', 'push'],
  priority: 'high', critical: false, scheduledAt: null, ...overrides,
});

describe('createNotification', () => {
  it('writes the notification and one queued delivery per channel, in the channels’ order', async () => {
    const { notification, created } = await createNotificationInTransaction(pool, input());
    expect(created).toBe(true);
    expect(notification).toMatchObject({
      object: 'notification', user_id: 'user-1', template_id: 'transfer.received', channels: ['in_app', 'push'], priority: 'high',
      critical: false, scheduled_at: null, status: 'processing',
    });
    expect(notification.id).toMatch(/^ntf_[0-9A-Z]{26}$/);
    expect(notification.deliveries.map((d) => [d.channel, d.status, d.attempts, d.last_error])).toEqual([
      ['in_app', 'queued', 0, null], ['push', 'queued', 0, null],
    ]);
    expect(notification.deliveries[0]!.id).toMatch(/^dlv_/);
    const { rows } = await pool.query('SELECT kind, priority FROM deliveries WHERE notification_id = $1', [notification.id]);
    expect(rows).toEqual([{ kind: 'notification', priority: 'high' }, { kind: 'notification', priority: 'high' }]);
  });

  it('is scheduled when scheduledAt is in the future, processing when it is not', async () => {
    const later = new Date(Date.now() + 3_600_000);
    expect((await createNotificationInTransaction(pool, input({ scheduledAt: later }))).notification)
      .toMatchObject({ status: 'scheduled', scheduled_at: later.toISOString() });
    expect((await createNotificationInTransaction(pool, input({ scheduledAt: new Date(Date.now() - 1_000) }))).notification.status)
      .toBe('processing');
  });

  it('refuses to run outside a transaction (an activity passes its own)', async () => {
    const client = await pool.connect();
    try {
      await expect(createNotification(client, input())).rejects.toThrow(/inside a transaction/);
    } finally {
      client.release();
    }
  });

  it('a source key creates one notification, even under concurrent calls', async () => {
    const sourceKey = `${newId('event')}:user-1`;
    const results = await Promise.all(Array.from({ length: 5 }, () => createNotificationInTransaction(pool, input({ sourceKey }))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.notification.id)).size).toBe(1);
    // The same key in another tenant is another notification.
    expect((await createNotificationInTransaction(pool, input({ tenantId: otherTenantId, sourceKey }))).created).toBe(true);
  });

  it('rolls back with the caller’s transaction', async () => {
    const id = newId('notification');
    await expect(withTransaction(pool, async (client) => {
      await createNotification(client, input({ id }));
      throw new Error('the caller failed later');
    })).rejects.toThrow('the caller failed later');
    expect(await getNotification(pool, tenantId, id)).toBeNull();
  });

  it('deleteUnstartedNotification removes untouched rows only', async () => {
    const { notification } = await createNotificationInTransaction(pool, input());
    expect(await deleteUnstartedNotification(pool, tenantId, notification.id)).toBe(true);
    expect(await getNotification(pool, tenantId, notification.id)).toBeNull();
    const { notification: started } = await createNotificationInTransaction(pool, input());
    await pool.query(`UPDATE deliveries SET attempts = 1 WHERE id = $1`, [started.deliveries[0]!.id]);
    expect(await deleteUnstartedNotification(pool, tenantId, started.id)).toBe(false);
    expect(await getNotification(pool, tenantId, started.id)).not.toBeNull();
  });

  it('another tenant’s notification reads as missing', async () => {
    const { notification } = await createNotificationInTransaction(pool, input());
    expect(await getNotification(pool, otherTenantId, notification.id)).toBeNull();
  });
});

describe('templates', () => {
  it('findTemplate: the tenant’s own, else the built-in one, else null', async () => {
    expect(await findTemplate(pool, tenantId, 'transfer.sent')).toMatchObject({ source: 'built_in', created_at: null });
    const own = await createTemplate(pool, tenantId, 'transfer.sent', { sms: { body: 'Sent {{amount}}' } });
    expect(own).toMatchObject({ id: 'transfer.sent', source: 'tenant', channels: { sms: { body: 'Sent {{amount}}' } } });
    expect(await findTemplate(pool, tenantId, 'transfer.sent')).toEqual(own);
    expect((await findTemplate(pool, otherTenantId, 'transfer.sent'))?.source).toBe('built_in');
    expect(await findTemplate(pool, tenantId, 'no.such')).toBeNull();
    expect(await findTemplate(pool, tenantId, 'constructor')).toBeNull();
    await expect(createTemplate(pool, tenantId, 'transfer.sent', { sms: { body: 'x' } })).rejects.toMatchObject({
      code: 'resource_exists', message: 'A template with id transfer.sent already exists.', param: 'id',
    });
  });
});

describe('contacts and preferences', () => {
  it('reads defaults for a user without rows; PUT contacts replaces, preferences patch', async () => {
    expect(await getContacts(pool, tenantId, 'nobody')).toEqual({
      object: 'user_contacts', user_id: 'nobody', email: null, phone: null, push_tokens: [], locale: null, updated_at: null,
    });
    expect(await getPreferences(pool, tenantId, 'nobody')).toMatchObject({ email: true, sms: true, push: true, in_app: true, quiet_hours: null });

    await putContacts(pool, tenantId, 'u-c', { email: 'a@example.com', phone: '+14155550123', push_tokens: ['t1'] });
    const replaced = await putContacts(pool, tenantId, 'u-c', { phone: '+14155550124' });
    expect(replaced).toMatchObject({ email: null, phone: '+14155550124', push_tokens: [] });
    expect(await getContacts(pool, otherTenantId, 'u-c')).toMatchObject({ phone: null });

    await putPreferences(pool, tenantId, 'u-c', { sms: false, quiet_hours: { start: '22:00', end: '07:00', time_zone: 'Europe/Paris' } });
    const patched = await putPreferences(pool, tenantId, 'u-c', { email: false });
    expect(patched).toMatchObject({
      email: false, sms: false, push: true, in_app: true, quiet_hours: { start: '22:00', end: '07:00', time_zone: 'Europe/Paris' },
    });
    expect(await putPreferences(pool, tenantId, 'u-c', { sms: null, quiet_hours: null })).toMatchObject({ sms: true, quiet_hours: null });
  });
});

describe('inbox', () => {
  it('lists newest first with pages and an unread filter; read is idempotent and per user', async () => {
    const user = `inbox-${newId('event')}`;
    const messages = [];
    for (let i = 0; i < 3; i++) {
      const { notification } = await createNotificationInTransaction(pool, input({ userId: user, channels: ['in_app'] }));
      messages.push(await insertInboxMessage(pool, { tenantId, userId: user, notificationId: notification.id, title: `t${i}`, body: `b${i}` }));
    }
    // A retried in-app attempt stores nothing new.
    const again = await insertInboxMessage(pool, { tenantId, userId: user, notificationId: messages[0]!.notification_id!, title: 'x', body: 'y' });
    expect(again.id).toBe(messages[0]!.id);

    const page = await listInbox(pool, tenantId, user, { limit: 2 });
    expect(page.data.map((m) => m.title)).toEqual(['t2', 't1']);
    expect(page.has_more).toBe(true);
    expect((await listInbox(pool, tenantId, user, { limit: 2, startingAfter: page.data[1]!.id })).data.map((m) => m.title)).toEqual(['t0']);

    const read = await markInboxMessageRead(pool, tenantId, user, messages[1]!.id);
    expect(read?.read_at).toEqual(expect.any(String));
    expect((await markInboxMessageRead(pool, tenantId, user, messages[1]!.id))?.read_at).toBe(read?.read_at);
    expect(await markInboxMessageRead(pool, tenantId, 'someone-else', messages[1]!.id)).toBeNull();
    expect(await markInboxMessageRead(pool, otherTenantId, user, messages[1]!.id)).toBeNull();
    expect((await listInbox(pool, tenantId, user, { limit: 10, unread: true })).data.map((m) => m.title)).toEqual(['t2', 't0']);
    expect((await inboxMessagesAfter(pool, tenantId, user, messages[0]!.id, 10)).map((m) => m.title)).toEqual(['t1', 't2']);
  });
});

describe('dead letters', () => {
  async function deadLetter(): Promise<string> {
    const { notification } = await createNotificationInTransaction(pool, input({ channels: ['sms'] }));
    const id = notification.deliveries[0]!.id;
    await pool.query(`UPDATE deliveries SET status = 'dead_lettered', attempts = 5, last_error = 'provider down' WHERE id = $1`, [id]);
    return id;
  }

  it('requeues once under concurrent retries; the others get delivery_invalid_state; unknown is resource_missing', async () => {
    const id = await deadLetter();
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => withTransaction(pool, (c) => requeueDeadLetter(c, id))));
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    expect(ok[0]!.value).toMatchObject({ delivery: { status: 'queued', retries: 1, last_error: null, attempts: 5 }, previousError: 'provider down' });
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect(r.reason).toBeInstanceOf(NotificationError);
      expect(r.reason).toMatchObject({ code: 'delivery_invalid_state' });
    }
    await expect(withTransaction(pool, (c) => requeueDeadLetter(c, 'dlv_missing'))).rejects.toMatchObject({
      code: 'resource_missing', message: 'No such delivery.', param: 'id',
    });
  });

  it('a retry waits for a concurrent one to commit, then finds it taken (delivery_invalid_state)', async () => {
    const id = await deadLetter();
    const first = await pool.connect();
    try {
      await first.query('BEGIN');
      await requeueDeadLetter(first, id);
      const firstPid = (await first.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      let settled = false;
      const second = withTransaction(pool, (c) => requeueDeadLetter(c, id)).finally(() => { settled = true; });
      second.catch(() => undefined);
      // Blocked on the first one's row lock: PostgreSQL says so (polled, not assumed after a sleep).
      const blockedByFirst = () => pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [firstPid]);
      await eventually(blockedByFirst, (res) => res.rows[0].n === 1);
      expect(settled).toBe(false);
      await first.query('COMMIT');
      await expect(second).rejects.toMatchObject({ code: 'delivery_invalid_state' });
    } finally {
      first.release();
    }
    expect((await pool.query('SELECT retries FROM deliveries WHERE id = $1', [id])).rows[0].retries).toBe(1);
  });

  it('restoreDeadLetter puts it back as it was, unless it moved on', async () => {
    const id = await deadLetter();
    const { delivery, previousError } = await withTransaction(pool, (c) => requeueDeadLetter(c, id));
    expect(await restoreDeadLetter(pool, delivery, previousError)).toBe(true);
    const list = await listDeadLetters(pool, { tenantId, channel: 'sms', limit: 100 });
    expect(list.data.find((d) => d.id === id)).toMatchObject({ status: 'dead_lettered', retries: 0, last_error: 'provider down' });
    const second = await withTransaction(pool, (c) => requeueDeadLetter(c, id));
    await pool.query('UPDATE deliveries SET attempts = attempts + 1 WHERE id = $1', [id]);
    expect(await restoreDeadLetter(pool, second.delivery, second.previousError)).toBe(false);
  });

  it('lists across tenants, filtered by tenant and channel', async () => {
    const id = await deadLetter();
    expect((await listDeadLetters(pool, { limit: 100 })).data.map((d) => d.id)).toContain(id);
    expect((await listDeadLetters(pool, { tenantId: otherTenantId, limit: 100 })).data.map((d) => d.id)).not.toContain(id);
    expect((await listDeadLetters(pool, { tenantId, channel: 'email', limit: 100 })).data.map((d) => d.id)).not.toContain(id);
  });
});
