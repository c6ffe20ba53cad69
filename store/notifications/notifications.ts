import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { Channel, NotificationStatus, Priority } from '../../domain/notifications/types.js';
import { CHANNELS } from '../../domain/notifications/types.js';
import type { Db } from '../db.js';
import { withTransaction } from '../db.js';
import { assertInTransaction, col, rowMapper } from '../rows.js';
import { releaseExpiredRequestKey, type RequestKey } from '../start-requests.js';
import {
  countStartedDeliveries, deleteNotificationDeliveries, insertNotificationDeliveries, listNotificationDeliveries,
  type NotificationDelivery,
} from './deliveries.js';
import { deleteNotificationInboxMessage } from './inbox.js';

/** The `notifications` table: notifications with their deliveries (one per channel), as the API shows them. */

export interface Notification {
  id: string;
  object: 'notification';
  user_id: string;
  template_id: string;
  channels: Channel[];
  priority: Priority;
  critical: boolean;
  scheduled_at: string | null;
  status: NotificationStatus;
  deliveries: NotificationDelivery[];
  created_at: string;
}

export interface NewNotification {
  tenantId: string;
  userId: string;
  templateId: string;
  data: Record<string, unknown>;
  channels: Channel[];
  priority: Priority;
  critical: boolean;
  /** In the future: the notification waits (`scheduled`); else it is sent now (`processing`). */
  scheduledAt: Date | null;
  /** The outbox event (or other source) it comes from: the same key never creates a second one. */
  sourceKey?: string | null | undefined;
  /** Defaults to a new `ntf_` id. */
  id?: string | undefined;
  /** The API's Idempotency-Key: a retry with the same key gets the notification its first attempt wrote. */
  requestKey?: RequestKey | undefined;
}

/** The notification's own columns (its deliveries are read from theirs). */
const notification = rowMapper<Omit<Notification, 'deliveries'>>({
  id: col.text('id'),
  object: col.literal('notification'),
  user_id: col.text('user_id'),
  template_id: col.text('template_id'),
  channels: col.of<Channel[]>('channels'),
  priority: col.of<Priority>('priority'),
  critical: col.bool('critical'),
  scheduled_at: col.isoTimestampOrNull('scheduled_at'),
  status: col.of<NotificationStatus>('status'),
  created_at: col.isoTimestamp('created_at'),
});

function checkChannels(channels: readonly string[]): void {
  const known = channels.every((c) => (CHANNELS as readonly string[]).includes(c));
  if (channels.length === 0 || !known || new Set(channels).size !== channels.length) {
    throw new Error(`a notification needs unique known channels, got ${JSON.stringify(channels)}`);
  }
}

/**
 * Inserts the notification and one `queued` delivery per channel, in the caller's transaction
 * (an activity passes its own; the API uses createNotificationInTransaction). With a `sourceKey`
 * or a `requestKey` already used by the tenant, nothing is written and the existing notification
 * comes back with `created: false` (`sameRequest: false` when a request key's notification was
 * written for another request). The caller checks the template and its channels first.
 */
export async function createNotification(
  client: pg.PoolClient,
  input: NewNotification,
  now: Date = new Date(),
): Promise<{ notification: Notification; created: boolean; sameRequest: boolean }> {
  assertInTransaction(client, 'createNotification');
  checkChannels(input.channels);
  const requestKey = input.requestKey?.key ?? null;
  if (requestKey !== null) {
    await releaseExpiredRequestKey(client, 'notifications', input.tenantId, requestKey, input.requestKey!.retentionHours);
  }
  const id = input.id ?? newId('notification');
  const status: NotificationStatus = input.scheduledAt && input.scheduledAt > now ? 'scheduled' : 'processing';
  // No conflict target: a source key or a request key may conflict (ids are new).
  const inserted = await client.query(
    `INSERT INTO notifications (id, tenant_id, user_id, template_id, data, channels, priority, critical, scheduled_at, status, source_key, request_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT DO NOTHING RETURNING id`,
    [
      id, input.tenantId, input.userId, input.templateId, JSON.stringify(input.data), input.channels, input.priority,
      input.critical, input.scheduledAt, status, input.sourceKey ?? null, requestKey,
    ],
  );
  if (inserted.rowCount === 0) return existingNotification(client, input);
  await insertNotificationDeliveries(client, { tenantId: input.tenantId, notificationId: id, priority: input.priority, channels: input.channels });
  const created = await getNotification(client, input.tenantId, id);
  if (!created || created.deliveries.length !== input.channels.length) {
    throw new Error(`notification ${id} was not written with one delivery per channel`);
  }
  return { notification: created, created: true, sameRequest: true };
}

/** The notification whose source key or request key made the insert a no-op (committed, or waited for). */
async function existingNotification(client: pg.PoolClient, input: NewNotification) {
  const requestKey = input.requestKey?.key ?? null;
  const { rows } = await client.query(
    `SELECT id, (user_id = $3 AND template_id = $4 AND data = $5::jsonb AND channels = $6::text[] AND priority = $7
                 AND critical = $8 AND scheduled_at IS NOT DISTINCT FROM $9::timestamptz) AS same
     FROM notifications WHERE tenant_id = $1 AND ${requestKey !== null ? 'request_key' : 'source_key'} = $2`,
    [
      input.tenantId, requestKey ?? input.sourceKey, input.userId, input.templateId, JSON.stringify(input.data), input.channels,
      input.priority, input.critical, input.scheduledAt,
    ],
  );
  const existing = rows[0] ? await getNotification(client, input.tenantId, rows[0].id as string) : null;
  if (!existing) throw new Error(`notification with ${requestKey !== null ? 'request' : 'source'} key conflicted but is not visible`);
  return { notification: existing, created: false, sameRequest: requestKey === null || (rows[0].same as boolean) };
}

/** createNotification in a transaction of its own (for the API). */
export function createNotificationInTransaction(
  pool: pg.Pool,
  input: NewNotification,
): Promise<{ notification: Notification; created: boolean; sameRequest: boolean }> {
  return withTransaction(pool, (client) => createNotification(client, input));
}

/**
 * Undoes createNotification when its workflow could not start (nothing was sent: every delivery
 * is still queued without an attempt). Returns whether the rows were removed.
 */
export async function deleteUnstartedNotification(pool: pg.Pool, tenantId: string, id: string): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    if (await countStartedDeliveries(client, tenantId, id) > 0) return false;
    await deleteNotificationInboxMessage(client, tenantId, id);
    await deleteNotificationDeliveries(client, tenantId, id);
    const deleted = await client.query('DELETE FROM notifications WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    return deleted.rowCount === 1;
  });
}

/** The tenant's notification with its deliveries (in the order of its channels); null if none. */
export async function getNotification(db: Db, tenantId: string, id: string): Promise<Notification | null> {
  const { rows } = await db.query(`SELECT ${notification.columns()} FROM notifications WHERE id = $1 AND tenant_id = $2`, [
    id, tenantId,
  ]);
  if (!rows[0]) return null;
  const { created_at, ...rest } = notification.map(rows[0]);
  const deliveries = await listNotificationDeliveries(db, tenantId, id, rest.channels);
  return { ...rest, deliveries, created_at };
}

/** A step of the notification's life; a cancelled notification stays cancelled. */
export async function setNotificationStatus(
  db: Db,
  input: { tenantId: string; notificationId: string; status: Exclude<NotificationStatus, 'cancelled'> },
): Promise<void> {
  await db.query(
    `UPDATE notifications SET status = $3, updated_at = now() WHERE id = $1 AND tenant_id = $2 AND status <> 'cancelled'`,
    [input.notificationId, input.tenantId, input.status],
  );
}

/** Cancels the notification (its queued deliveries: cancelQueuedDeliveries, in the same transaction). */
export async function markNotificationCancelled(db: Db, tenantId: string, id: string): Promise<void> {
  await db.query(`UPDATE notifications SET status = 'cancelled', updated_at = now() WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
}

/** What planning renders from; null when there is no such notification. */
export interface NotificationToPlan {
  userId: string;
  templateId: string;
  data: Record<string, unknown>;
}

const notificationToPlan = rowMapper<NotificationToPlan>({
  userId: col.text('user_id'),
  templateId: col.text('template_id'),
  data: col.json<Record<string, unknown>>('data'),
});

/**
 * Locks the notification for planning (`FOR UPDATE`, until the caller's transaction ends): a
 * retried plan waits for the first one and then finds its deliveries planned.
 */
export async function lockNotificationToPlan(client: pg.PoolClient, tenantId: string, id: string): Promise<NotificationToPlan | null> {
  assertInTransaction(client, 'lockNotificationToPlan');
  const { rows: [row] } = await client.query(
    `SELECT ${notificationToPlan.columns()} FROM notifications WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
    [id, tenantId],
  );
  return row ? notificationToPlan.map(row) : null;
}
