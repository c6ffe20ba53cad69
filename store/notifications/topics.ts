import { NotificationError } from '../../domain/notifications/errors.js';
import type { Db } from '../db.js';
import { isUniqueViolation } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `topics` and `topic_subscribers` tables (schema/0022, contract §10): a tenant's audiences.
 * Subscribing is idempotent (a user already subscribed stays so, once); the count is read from the
 * primary key's range, never kept as a counter.
 */

/** User ids one subscribe call takes (contract §10). */
export const SUBSCRIBE_BATCH_MAX = 1_000;

export interface Topic {
  key: string;
  name: string;
  subscribersCount: number;
  createdAt: Date;
}

const topic = rowMapper<Topic>({
  key: col.text('key'),
  name: col.text('name'),
  subscribersCount: {
    names: ['subscribers_count'],
    select: (alias) => `(SELECT count(*)::int FROM topic_subscribers s WHERE s.tenant_id = ${alias ?? 'topics'}.tenant_id AND s.topic_key = ${alias ?? 'topics'}.key) AS subscribers_count`,
    read: (row) => row.subscribers_count as number,
  },
  createdAt: col.timestamp('created_at'),
});

/** A key the tenant already uses is `resource_exists`. */
export async function createTopic(db: Db, tenantId: string, input: { key: string; name: string }): Promise<Topic> {
  try {
    await db.query('INSERT INTO topics (tenant_id, key, name) VALUES ($1, $2, $3)', [tenantId, input.key, input.name]);
  } catch (err) {
    if (isUniqueViolation(err, 'topics_pkey')) throw new NotificationError('resource_exists', `A topic with key ${input.key} already exists.`, 'key');
    throw err;
  }
  return (await findTopic(db, tenantId, input.key))!;
}

export async function findTopic(db: Db, tenantId: string, key: string): Promise<Topic | null> {
  const { rows } = await db.query(`SELECT ${topic.columns('t')} FROM topics t WHERE t.tenant_id = $1 AND t.key = $2`, [tenantId, key]);
  return rows[0] ? topic.map(rows[0]) : null;
}

/** Subscribes users (at most SUBSCRIBE_BATCH_MAX, in one statement); returns how many were new. Unknown topic: `resource_missing`. */
export async function subscribe(db: Db, tenantId: string, key: string, userIds: readonly string[]): Promise<number> {
  if (userIds.length > SUBSCRIBE_BATCH_MAX) throw new NotificationError('parameter_invalid', `At most ${SUBSCRIBE_BATCH_MAX} user ids per call.`, 'user_ids');
  const { rows } = await db.query(
    `WITH t AS (SELECT key FROM topics WHERE tenant_id = $1 AND key = $2),
     ins AS (
       INSERT INTO topic_subscribers (tenant_id, topic_key, user_id)
       SELECT $1, t.key, u.user_id FROM t, unnest($3::text[]) AS u(user_id)
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT (SELECT count(*) FROM t)::int AS topics, (SELECT count(*) FROM ins)::int AS added`,
    [tenantId, key, [...new Set(userIds)]],
  );
  if (rows[0].topics === 0) throw new NotificationError('resource_missing', `No such topic: ${key}`, 'key');
  return rows[0].added as number;
}

/** Removes a subscription; false when there was none. */
export async function unsubscribe(db: Db, tenantId: string, key: string, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM topic_subscribers WHERE tenant_id = $1 AND topic_key = $2 AND user_id = $3', [tenantId, key, userId]);
  return rowCount === 1;
}

/** A topic's subscribers by user id; `startingAfter` is the last user id of the previous page. */
export async function listSubscribers(db: Db, tenantId: string, key: string, page: PageQuery): Promise<ListPage<{ userId: string; createdAt: Date }>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT user_id, created_at FROM topic_subscribers
     WHERE tenant_id = $1 AND topic_key = $2 AND ($3::text IS NULL OR user_id > $3) ORDER BY user_id LIMIT $4`,
    [tenantId, key, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, (r) => ({ userId: r.user_id as string, createdAt: r.created_at as Date }));
}
