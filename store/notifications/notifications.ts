import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { Channel, NotificationStatus, Priority } from '../../domain/notifications/types.js';
import { CHANNELS } from '../../domain/notifications/types.js';
import type { Db } from '../db.js';
import { withTransaction } from '../db.js';
import { assertInTransaction, col, rowMapper } from '../rows.js';
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
 * already used by the tenant, nothing is written and the existing notification comes back with
 * `created: false`. The caller checks the template and its channels first.
 */
export async function createNotification(
  client: pg.PoolClient,
  input: NewNotification,
  now: Date = new Date(),
): Promise<{ notification: Notification; created: boolean }> {
  assertInTransaction(client, 'createNotification');
  checkChannels(input.channels);
  const id = input.id ?? newId('notification');
  const status: NotificationStatus = input.scheduledAt && input.scheduledAt > now ? 'scheduled' : 'processing';
  const inserted = await client.query(
    `INSERT INTO notifications (id, tenant_id, user_id, template_id, data, channels, priority, critical, scheduled_at, status, source_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT ON CONSTRAINT notifications_source_key DO NOTHING RETURNING id`,
    [
      id, input.tenantId, input.userId, input.templateId, JSON.stringify(input.data), input.channels, input.priority,
      input.critical, input.scheduledAt, status, input.sourceKey ?? null,
    ],
  );
  if (inserted.rowCount === 0) {
    // Only a source key can conflict (ids are new); the first insert has committed or we waited for it.
    const { rows } = await client.query('SELECT id FROM notifications WHERE tenant_id = $1 AND source_key = $2', [
      input.tenantId, input.sourceKey,
    ]);
    const existing = rows[0] ? await getNotification(client, input.tenantId, rows[0].id as string) : null;
    if (!existing) throw new Error(`notification with source key ${String(input.sourceKey)} conflicted but is not visible`);
    return { notification: existing, created: false };
  }
  await insertNotificationDeliveries(client, { tenantId: input.tenantId, notificationId: id, priority: input.priority, channels: input.channels });
  const created = await getNotification(client, input.tenantId, id);
  if (!created || created.deliveries.length !== input.channels.length) {
    throw new Error(`notification ${id} was not written with one delivery per channel`);
  }
  return { notification: created, created: true };
}

/** createNotification in a transaction of its own (for the API). */
export function createNotificationInTransaction(
  pool: pg.Pool,
  input: NewNotification,
): Promise<{ notification: Notification; created: boolean }> {
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
