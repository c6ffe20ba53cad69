import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { Channel, DeliveryStatus, NotificationStatus, Priority } from '../../domain/notifications/types.js';
import { CHANNELS } from '../../domain/notifications/types.js';
import type { Db } from '../../platform/db.js';
import { withTransaction } from '../../platform/db.js';
import { assertInTransaction, iso, isoOrNull } from './rows.js';

/** Notifications and their deliveries (one per channel), as the API shows them. */

export interface NotificationDelivery {
  id: string;
  channel: Channel;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  provider_message_id: string | null;
  updated_at: string;
}

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
  await client.query(
    `INSERT INTO deliveries (id, tenant_id, kind, channel, notification_id, priority, status)
     SELECT d.id, $1, 'notification', d.channel, $2, $3, 'queued' FROM unnest($4::text[], $5::text[]) AS d (id, channel)`,
    [input.tenantId, id, input.priority, input.channels.map(() => newId('delivery')), input.channels],
  );
  const notification = await getNotification(client, input.tenantId, id);
  if (!notification || notification.deliveries.length !== input.channels.length) {
    throw new Error(`notification ${id} was not written with one delivery per channel`);
  }
  return { notification, created: true };
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
    const { rows } = await client.query(
      `SELECT count(*) FILTER (WHERE status <> 'queued' OR attempts > 0)::int AS started FROM deliveries
       WHERE notification_id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    if ((rows[0]?.started ?? 0) > 0) return false;
    await client.query('DELETE FROM inbox_messages WHERE notification_id = $1 AND tenant_id = $2', [id, tenantId]);
    await client.query('DELETE FROM deliveries WHERE notification_id = $1 AND tenant_id = $2', [id, tenantId]);
    const deleted = await client.query('DELETE FROM notifications WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    return deleted.rowCount === 1;
  });
}

/** The tenant's notification with its deliveries (in the order of its channels); null if none. */
export async function getNotification(db: Db, tenantId: string, id: string): Promise<Notification | null> {
  const { rows } = await db.query(
    `SELECT id, user_id, template_id, channels, priority, critical, scheduled_at, status, created_at
     FROM notifications WHERE id = $1 AND tenant_id = $2`,
    [id, tenantId],
  );
  const row = rows[0];
  if (!row) return null;
  const deliveries = await db.query(
    `SELECT id, channel, status, attempts, last_error, provider_message_id, updated_at FROM deliveries
     WHERE notification_id = $1 AND tenant_id = $2 ORDER BY array_position($3::text[], channel), id`,
    [id, tenantId, row.channels],
  );
  return {
    id: row.id, object: 'notification', user_id: row.user_id, template_id: row.template_id, channels: row.channels,
    priority: row.priority, critical: row.critical, scheduled_at: isoOrNull(row.scheduled_at), status: row.status,
    deliveries: deliveries.rows.map((d) => ({
      id: d.id, channel: d.channel, status: d.status, attempts: d.attempts, last_error: d.last_error ?? null,
      provider_message_id: d.provider_message_id ?? null, updated_at: iso(d.updated_at),
    })),
    created_at: iso(row.created_at),
  };
}
