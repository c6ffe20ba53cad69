import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `inbox_messages` table, the in-app channel's store: one message per notification, read
 * through the API and the SSE stream. Its insert trigger NOTIFYs `inbox_messages` at commit
 * (`{tenant_id, user_id, id}`), which wakes the streams' listener.
 */

export interface InboxMessage {
  id: string;
  object: 'inbox_message';
  title: string;
  body: string;
  /** The notification it delivers, or null for a broadcast's message (then `broadcast_id`). */
  notification_id: string | null;
  broadcast_id: string | null;
  created_at: string;
  read_at: string | null;
}

/** Messages one catch-up of the SSE stream reads at most (it continues in the next round). */
export const CATCH_UP_LIMIT_MAX = 500;

/** The channel the insert trigger NOTIFYs (schema/0005). */
export const INBOX_CHANNEL = 'inbox_messages';

const message = rowMapper<InboxMessage>({
  id: col.text('id'),
  object: col.literal('inbox_message'),
  title: col.text('title'),
  body: col.text('body'),
  notification_id: col.textOrNull('notification_id'),
  broadcast_id: col.textOrNull('broadcast_id'),
  created_at: col.isoTimestamp('created_at'),
  read_at: col.isoTimestampOrNull('read_at'),
});

/**
 * Stores the in-app message of a notification (the in-app delivery). Idempotent per notification:
 * a retried attempt returns the message stored first. The insert wakes the SSE streams (NOTIFY).
 */
export async function insertInboxMessage(
  db: Db,
  input: { tenantId: string; userId: string; notificationId: string; title: string; body: string },
): Promise<InboxMessage> {
  const { rows } = await db.query(
    `INSERT INTO inbox_messages (id, tenant_id, user_id, notification_id, title, body) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (notification_id) DO NOTHING RETURNING ${message.columns()}`,
    [newId('inboxMessage'), input.tenantId, input.userId, input.notificationId, input.title, input.body],
  );
  if (rows[0]) return message.map(rows[0]);
  const existing = await db.query(`SELECT ${message.columns()} FROM inbox_messages WHERE notification_id = $1 AND tenant_id = $2`, [
    input.notificationId, input.tenantId,
  ]);
  if (!existing.rows[0]) throw new Error(`inbox message of ${input.notificationId} conflicted but is not visible`);
  return message.map(existing.rows[0]);
}

/**
 * The in-app attempt's write, one statement: stores the notification's message, or finds the one
 * stored first (the no-op update locks it until the caller's transaction, which marks the delivery
 * `sent`, commits). Returns the message id.
 */
export async function upsertInboxMessage(
  db: Db,
  input: { tenantId: string; userId: string | null; notificationId: string | null; title: string; body: string },
): Promise<string> {
  const { rows: [row] } = await db.query<{ id: string }>(
    `INSERT INTO inbox_messages (id, tenant_id, user_id, notification_id, title, body)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (notification_id) DO UPDATE SET notification_id = EXCLUDED.notification_id
     RETURNING id`,
    [newId('inboxMessage'), input.tenantId, input.userId, input.notificationId, input.title, input.body],
  );
  return row!.id;
}

/** A user's messages, newest first; `unread` keeps only those not read yet. */
export async function listInbox(
  db: Db,
  tenantId: string,
  userId: string,
  page: PageQuery & { unread?: boolean | undefined },
): Promise<ListPage<InboxMessage>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${message.columns()} FROM inbox_messages
     WHERE tenant_id = $1 AND user_id = $2 AND ($3::text IS NULL OR id < $3) AND (NOT $4::boolean OR read_at IS NULL)
     ORDER BY id DESC LIMIT $5`,
    [tenantId, userId, page.startingAfter ?? null, page.unread === true, page.limit + 1],
  );
  return toPage(rows, page.limit, message.map);
}

/** One of the user's messages; null when it is another user's (or tenant's), or does not exist. */
export async function getInboxMessage(db: Db, tenantId: string, userId: string, id: string): Promise<InboxMessage | null> {
  const { rows } = await db.query(`SELECT ${message.columns()} FROM inbox_messages WHERE id = $1 AND tenant_id = $2 AND user_id = $3`, [
    id, tenantId, userId,
  ]);
  return rows[0] ? message.map(rows[0]) : null;
}

/** Marks a message read; idempotent (the first read time stays). Null when it is not the user's. */
export async function markInboxMessageRead(db: Db, tenantId: string, userId: string, id: string): Promise<InboxMessage | null> {
  const { rows } = await db.query(
    `UPDATE inbox_messages SET read_at = coalesce(read_at, now()) WHERE id = $1 AND tenant_id = $2 AND user_id = $3
     RETURNING ${message.columns()}`,
    [id, tenantId, userId],
  );
  return rows[0] ? message.map(rows[0]) : null;
}

/** The user's messages after `afterId`, oldest first (the SSE replay after `Last-Event-ID`). */
export async function inboxMessagesAfter(
  db: Db,
  tenantId: string,
  userId: string,
  afterId: string,
  limit: number,
): Promise<InboxMessage[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > CATCH_UP_LIMIT_MAX) throw new Error(`catch-up limit must be 1..${CATCH_UP_LIMIT_MAX}`);
  const { rows } = await db.query(
    `SELECT ${message.columns()} FROM inbox_messages WHERE tenant_id = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
    [tenantId, userId, afterId, limit],
  );
  return rows.map(message.map);
}

/** Removes an unstarted notification's message (see deleteUnstartedNotification). */
export async function deleteNotificationInboxMessage(db: Db, tenantId: string, notificationId: string): Promise<void> {
  await db.query('DELETE FROM inbox_messages WHERE notification_id = $1 AND tenant_id = $2', [notificationId, tenantId]);
}

/** The tenant's messages (the bench's check that every in-app notification was stored). */
export async function countInboxMessages(db: Db, tenantId: string): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM inbox_messages WHERE tenant_id = $1', [tenantId]);
  return rows[0].n as number;
}

/** Subscribes a dedicated connection (not a pooled one: it must hold the LISTEN) to new messages. */
export async function listenInbox(client: pg.Client): Promise<void> {
  await client.query(`LISTEN ${INBOX_CHANNEL}`);
}

/** A round trip on the listening connection: a silently dead TCP connection would otherwise deliver nothing, forever. */
export async function probeInboxListener(client: pg.Client): Promise<void> {
  await client.query('SELECT 1');
}
