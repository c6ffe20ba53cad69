import { newId } from '../../domain/ids.js';
import type { Db } from '../../platform/db.js';
import { checkPageLimit, iso, isoOrNull, toPage, type ListPage, type PageQuery } from './rows.js';

/** The in-app channel's store: one message per notification, read through the API and the SSE stream. */

export interface InboxMessage {
  id: string;
  object: 'inbox_message';
  title: string;
  body: string;
  notification_id: string;
  created_at: string;
  read_at: string | null;
}

/** Messages one catch-up of the SSE stream reads at most (it continues in the next round). */
export const CATCH_UP_LIMIT_MAX = 500;

const COLUMNS = 'id, title, body, notification_id, created_at, read_at';

function toMessage(row: Record<string, unknown>): InboxMessage {
  return {
    id: row.id as string, object: 'inbox_message', title: row.title as string, body: row.body as string,
    notification_id: row.notification_id as string, created_at: iso(row.created_at), read_at: isoOrNull(row.read_at),
  };
}

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
     ON CONFLICT (notification_id) DO NOTHING RETURNING ${COLUMNS}`,
    [newId('inboxMessage'), input.tenantId, input.userId, input.notificationId, input.title, input.body],
  );
  if (rows[0]) return toMessage(rows[0]);
  const existing = await db.query(`SELECT ${COLUMNS} FROM inbox_messages WHERE notification_id = $1 AND tenant_id = $2`, [
    input.notificationId, input.tenantId,
  ]);
  if (!existing.rows[0]) throw new Error(`inbox message of ${input.notificationId} conflicted but is not visible`);
  return toMessage(existing.rows[0]);
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
    `SELECT ${COLUMNS} FROM inbox_messages
     WHERE tenant_id = $1 AND user_id = $2 AND ($3::text IS NULL OR id < $3) AND (NOT $4::boolean OR read_at IS NULL)
     ORDER BY id DESC LIMIT $5`,
    [tenantId, userId, page.startingAfter ?? null, page.unread === true, page.limit + 1],
  );
  return toPage(rows, page.limit, toMessage);
}

/** One of the user's messages; null when it is another user's (or tenant's), or does not exist. */
export async function getInboxMessage(db: Db, tenantId: string, userId: string, id: string): Promise<InboxMessage | null> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM inbox_messages WHERE id = $1 AND tenant_id = $2 AND user_id = $3`, [
    id, tenantId, userId,
  ]);
  return rows[0] ? toMessage(rows[0]) : null;
}

/** Marks a message read; idempotent (the first read time stays). Null when it is not the user's. */
export async function markInboxMessageRead(db: Db, tenantId: string, userId: string, id: string): Promise<InboxMessage | null> {
  const { rows } = await db.query(
    `UPDATE inbox_messages SET read_at = coalesce(read_at, now()) WHERE id = $1 AND tenant_id = $2 AND user_id = $3
     RETURNING ${COLUMNS}`,
    [id, tenantId, userId],
  );
  return rows[0] ? toMessage(rows[0]) : null;
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
    `SELECT ${COLUMNS} FROM inbox_messages WHERE tenant_id = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
    [tenantId, userId, afterId, limit],
  );
  return rows.map(toMessage);
}
