import type pg from 'pg';
import { errors } from '../../domain/errors.js';
import type { DeliveryChannel, DeliveryStatus, Priority } from '../../domain/notifications/types.js';
import type { Db } from '../../platform/db.js';
import { assertInTransaction, checkPageLimit, iso, isoOrNull, toPage, type ListPage, type PageQuery } from './rows.js';

/**
 * Deliveries as ops and merchants see them (what was attempted and how it ended), and the ops
 * retry of a dead letter. The rendered `content` is not shown: it can be large and personal.
 */

export interface Delivery {
  id: string;
  object: 'delivery';
  tenant_id: string;
  kind: 'notification' | 'webhook';
  channel: DeliveryChannel;
  notification_id: string | null;
  endpoint_id: string | null;
  event_id: string | null;
  priority: Priority;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  provider_message_id: string | null;
  response_status: number | null;
  /** How many times ops replayed it from the dead letters. */
  retries: number;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

export const DELIVERY_COLUMNS = `id, tenant_id, kind, channel, notification_id, endpoint_id, event_id, priority, status, attempts,
  last_error, provider_message_id, response_status, retries, created_at, updated_at, sent_at`;

export function toDelivery(row: Record<string, unknown>): Delivery {
  return {
    id: row.id as string, object: 'delivery', tenant_id: row.tenant_id as string, kind: row.kind as Delivery['kind'],
    channel: row.channel as DeliveryChannel, notification_id: (row.notification_id as string | null) ?? null,
    endpoint_id: (row.endpoint_id as string | null) ?? null, event_id: (row.event_id as string | null) ?? null,
    priority: row.priority as Priority, status: row.status as DeliveryStatus, attempts: row.attempts as number,
    last_error: (row.last_error as string | null) ?? null, provider_message_id: (row.provider_message_id as string | null) ?? null,
    response_status: (row.response_status as number | null) ?? null, retries: row.retries as number,
    created_at: iso(row.created_at), updated_at: iso(row.updated_at), sent_at: isoOrNull(row.sent_at),
  };
}

/** Dead-lettered deliveries of every tenant (ops), newest first, optionally of one tenant or channel. */
export async function listDeadLetters(
  db: Db,
  filter: PageQuery & { tenantId?: string | undefined; channel?: DeliveryChannel | undefined },
): Promise<ListPage<Delivery>> {
  checkPageLimit(filter.limit);
  const { rows } = await db.query(
    `SELECT ${DELIVERY_COLUMNS} FROM deliveries
     WHERE status = 'dead_lettered' AND ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR channel = $2)
       AND ($3::text IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [filter.tenantId ?? null, filter.channel ?? null, filter.startingAfter ?? null, filter.limit + 1],
  );
  return toPage(rows, filter.limit, toDelivery);
}

/**
 * Takes a dead letter back to `queued` for one more round of attempts (in the caller's
 * transaction): `retries` goes up by one, `last_error` is cleared. The row lock makes concurrent
 * retries queue up; every one after the first finds it no longer dead-lettered:
 * `409 delivery_invalid_state`. Unknown id: `404 resource_missing`. Returns the delivery and the
 * error it had, so restoreDeadLetter can put it back if the retry cannot start.
 */
export async function requeueDeadLetter(client: pg.PoolClient, id: string): Promise<{ delivery: Delivery; previousError: string | null }> {
  assertInTransaction(client, 'requeueDeadLetter');
  const { rows } = await client.query('SELECT status, last_error FROM deliveries WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw errors.resourceMissing('delivery', 'id');
  if (rows[0].status !== 'dead_lettered') {
    throw errors.deliveryInvalidState(`Only a dead-lettered delivery can be retried; this one is ${rows[0].status as string}.`);
  }
  const updated = await client.query(
    `UPDATE deliveries SET status = 'queued', retries = retries + 1, last_error = NULL, updated_at = now()
     WHERE id = $1 AND status = 'dead_lettered' RETURNING ${DELIVERY_COLUMNS}`,
    [id],
  );
  // Cannot miss under the row lock; checked anyway, so a lost race is a 409 and never a 500.
  if (!updated.rows[0]) throw errors.deliveryInvalidState('The delivery was retried by another request.');
  return { delivery: toDelivery(updated.rows[0]), previousError: (rows[0].last_error as string | null) ?? null };
}

/**
 * Undoes requeueDeadLetter when the retry workflow could not start: back to `dead_lettered` with
 * its error, unless something else changed it meanwhile. Returns whether it was put back.
 */
export async function restoreDeadLetter(db: Db, requeued: Delivery, previousError: string | null): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE deliveries SET status = 'dead_lettered', retries = retries - 1, last_error = $4, updated_at = now()
     WHERE id = $1 AND status = 'queued' AND retries = $2 AND attempts = $3`,
    [requeued.id, requeued.retries, requeued.attempts, previousError],
  );
  return rowCount === 1;
}

/** Any tenant's delivery by id (ops). */
export async function getDelivery(db: Db, id: string): Promise<Delivery | null> {
  const { rows } = await db.query(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1`, [id]);
  return rows[0] ? toDelivery(rows[0]) : null;
}
