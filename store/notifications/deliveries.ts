import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { NotificationError } from '../../domain/notifications/errors.js';
import type { Channel, DeliveryChannel, DeliveryStatus, Priority } from '../../domain/notifications/types.js';
import { statusAfterReceipt, type ReceiptStatus } from '../../domain/notifications/receipts.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { assertInTransaction, col, rowMapper } from '../rows.js';

/**
 * The `deliveries` table: one row per (notification, channel) or per (webhook endpoint, event),
 * what was attempted and how it ended. Written by planning and by each attempt; read by ops and
 * merchants (the rendered `content` is not shown to them: it can be large and personal), and
 * replayed from the dead letters by ops.
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

const deliveryFields = {
  id: col.text('id'),
  object: col.literal('delivery'),
  tenant_id: col.text('tenant_id'),
  kind: col.of<Delivery['kind']>('kind'),
  channel: col.of<DeliveryChannel>('channel'),
  notification_id: col.textOrNull('notification_id'),
  endpoint_id: col.textOrNull('endpoint_id'),
  event_id: col.textOrNull('event_id'),
  priority: col.of<Priority>('priority'),
  status: col.of<DeliveryStatus>('status'),
  attempts: col.int('attempts'),
  last_error: col.textOrNull('last_error'),
  provider_message_id: col.textOrNull('provider_message_id'),
  response_status: col.intOrNull('response_status'),
  retries: col.int('retries'),
  created_at: col.isoTimestamp('created_at'),
  updated_at: col.isoTimestamp('updated_at'),
  sent_at: col.isoTimestampOrNull('sent_at'),
} as const;
const delivery = rowMapper<Delivery>(deliveryFields);

/** A notification's delivery as the notification shows it. */
export interface NotificationDelivery {
  id: string;
  channel: Channel;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  provider_message_id: string | null;
  updated_at: string;
}

const { id, status, attempts, last_error, provider_message_id, updated_at } = deliveryFields;
const notificationDelivery = rowMapper<NotificationDelivery>({
  id, channel: col.of<Channel>('channel'), status, attempts, last_error, provider_message_id, updated_at,
});

// ---- Ops and merchants -------------------------------------------------------------------------

/** Any tenant's delivery by id (ops). */
export async function getDelivery(db: Db, id: string): Promise<Delivery | null> {
  const { rows } = await db.query(`SELECT ${delivery.columns()} FROM deliveries WHERE id = $1`, [id]);
  return rows[0] ? delivery.map(rows[0]) : null;
}

/** A webhook endpoint's deliveries (one per event), newest first. The caller checks the endpoint is the tenant's. */
export async function listEndpointDeliveries(
  db: Db,
  tenantId: string,
  endpointId: string,
  page: PageQuery,
): Promise<ListPage<Delivery>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${delivery.columns()} FROM deliveries
     WHERE kind = 'webhook' AND endpoint_id = $1 AND tenant_id = $2 AND ($3::text IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [endpointId, tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, delivery.map);
}

/** Dead-lettered deliveries of every tenant (ops), newest first, optionally of one tenant or channel. */
export async function listDeadLetters(
  db: Db,
  filter: PageQuery & { tenantId?: string | undefined; channel?: DeliveryChannel | undefined },
): Promise<ListPage<Delivery>> {
  checkPageLimit(filter.limit);
  const { rows } = await db.query(
    `SELECT ${delivery.columns()} FROM deliveries
     WHERE status = 'dead_lettered' AND ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR channel = $2)
       AND ($3::text IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [filter.tenantId ?? null, filter.channel ?? null, filter.startingAfter ?? null, filter.limit + 1],
  );
  return toPage(rows, filter.limit, delivery.map);
}

/**
 * Takes a dead letter back to `queued` for one more round of attempts (in the caller's
 * transaction): `retries` goes up by one, `last_error` is cleared. The row lock makes concurrent
 * retries queue up; every one after the first finds it no longer dead-lettered:
 * `delivery_invalid_state`. Unknown id: `resource_missing` (param `id`). Returns the delivery and
 * the error it had, so restoreDeadLetter can put it back if the retry cannot start.
 */
export async function requeueDeadLetter(client: pg.PoolClient, id: string): Promise<{ delivery: Delivery; previousError: string | null }> {
  assertInTransaction(client, 'requeueDeadLetter');
  const { rows } = await client.query('SELECT status, last_error FROM deliveries WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new NotificationError('resource_missing', 'No such delivery.', 'id');
  if (rows[0].status !== 'dead_lettered') {
    throw new NotificationError('delivery_invalid_state',
      `Only a dead-lettered delivery can be retried; this one is ${rows[0].status as string}.`);
  }
  const updated = await client.query(
    `UPDATE deliveries SET status = 'queued', retries = retries + 1, last_error = NULL, updated_at = now(), run_seen_at = NULL
     WHERE id = $1 AND status = 'dead_lettered' RETURNING ${delivery.columns()}`,
    [id],
  );
  // Cannot miss under the row lock; checked anyway, so a lost race is a 409 and never a 500.
  if (!updated.rows[0]) throw new NotificationError('delivery_invalid_state', 'The delivery was retried by another request.');
  return { delivery: delivery.map(updated.rows[0]), previousError: (rows[0].last_error as string | null) ?? null };
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

// ---- A notification's deliveries ---------------------------------------------------------------

/** One `queued` delivery per channel of a new notification (in its transaction). */
export async function insertNotificationDeliveries(
  client: pg.PoolClient,
  input: { tenantId: string; notificationId: string; priority: Priority; channels: readonly Channel[] },
): Promise<void> {
  await client.query(
    `INSERT INTO deliveries (id, tenant_id, kind, channel, notification_id, priority, status)
     SELECT d.id, $1, 'notification', d.channel, $2, $3, 'queued' FROM unnest($4::text[], $5::text[]) AS d (id, channel)`,
    [input.tenantId, input.notificationId, input.priority, input.channels.map(() => newId('delivery')), input.channels],
  );
}

/** A notification's deliveries in the order of its `channels`. */
export async function listNotificationDeliveries(
  db: Db,
  tenantId: string,
  notificationId: string,
  channels: readonly Channel[],
): Promise<NotificationDelivery[]> {
  const { rows } = await db.query(
    `SELECT ${notificationDelivery.columns()} FROM deliveries
     WHERE notification_id = $1 AND tenant_id = $2 ORDER BY array_position($3::text[], channel), id`,
    [notificationId, tenantId, channels],
  );
  return rows.map(notificationDelivery.map);
}

/** How many of a notification's deliveries have started: attempted, or no longer `queued`. */
export async function countStartedDeliveries(db: Db, tenantId: string, notificationId: string): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*) FILTER (WHERE status <> 'queued' OR attempts > 0)::int AS started FROM deliveries
     WHERE notification_id = $1 AND tenant_id = $2`,
    [notificationId, tenantId],
  );
  return (rows[0]?.started as number | undefined) ?? 0;
}

export async function deleteNotificationDeliveries(db: Db, tenantId: string, notificationId: string): Promise<void> {
  await db.query('DELETE FROM deliveries WHERE notification_id = $1 AND tenant_id = $2', [notificationId, tenantId]);
}

/** A cancelled notification's deliveries that were still waiting. */
export async function cancelQueuedDeliveries(db: Db, notificationId: string): Promise<void> {
  await db.query(`UPDATE deliveries SET status = 'cancelled', updated_at = now() WHERE notification_id = $1 AND status = 'queued'`,
    [notificationId]);
}

/** A webhook endpoint was deleted: its queued deliveries are cancelled (a running attempt finds them so and stops). */
export async function cancelQueuedEndpointDeliveries(db: Db, endpointId: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'cancelled', last_error = $2, updated_at = now()
     WHERE endpoint_id = $1 AND kind = 'webhook' AND status = 'queued'`,
    [endpointId, reason],
  );
}

// ---- Planning -----------------------------------------------------------------------------------

/** A delivery as planning sees it: `content` is null until it is rendered. */
export interface DeliveryToPlan {
  id: string;
  channel: Channel;
  status: DeliveryStatus;
  content: Record<string, unknown> | null;
}

const deliveryToPlan = rowMapper<DeliveryToPlan>({
  id: col.text('id'),
  channel: col.of<Channel>('channel'),
  status: col.of<DeliveryStatus>('status'),
  content: col.ofOrNull<Record<string, unknown>>('content'),
});

/** A notification's deliveries in id order (the caller holds the notification's row lock). */
export async function listDeliveriesToPlan(db: Db, notificationId: string): Promise<DeliveryToPlan[]> {
  const { rows } = await db.query(`SELECT ${deliveryToPlan.columns()} FROM deliveries WHERE notification_id = $1 ORDER BY id`,
    [notificationId]);
  return rows.map(deliveryToPlan.map);
}

/** Fixes what a delivery sends and where: every attempt sends the same. */
export async function setDeliveryContent(db: Db, deliveryId: string, content: Record<string, unknown>): Promise<void> {
  await db.query('UPDATE deliveries SET content = $2, updated_at = now() WHERE id = $1', [deliveryId, content]);
}

/** A planning outcome (skipped, failed); `lastError` null keeps the one it has. */
export async function setDeliveryStatus(db: Db, deliveryId: string, status: DeliveryStatus, lastError: string | null): Promise<void> {
  await db.query('UPDATE deliveries SET status = $2, last_error = coalesce($3, last_error), updated_at = now() WHERE id = $1',
    [deliveryId, status, lastError]);
}

/**
 * An event's delivery to one webhook endpoint, its body fixed now (signed per attempt). Idempotent
 * per (endpoint, event): planning twice returns the delivery created first.
 */
export async function insertWebhookDelivery(
  db: Db,
  input: { tenantId: string; endpointId: string; eventId: string; body: string },
): Promise<string> {
  const { rows: [row] } = await db.query<{ id: string }>(
    `INSERT INTO deliveries (id, tenant_id, kind, channel, endpoint_id, event_id, status, content)
     VALUES ($1, $2, 'webhook', 'webhook', $3, $4, 'queued', $5)
     ON CONFLICT (endpoint_id, event_id) WHERE kind = 'webhook' DO UPDATE SET updated_at = deliveries.updated_at
     RETURNING id`,
    [newId('delivery'), input.tenantId, input.endpointId, input.eventId, { body: input.body }],
  );
  return row!.id;
}

// ---- Attempts -----------------------------------------------------------------------------------

/** A delivery with what an attempt needs: its endpoint (webhooks), its user, and whether its notification is critical. */
export interface DeliveryToAttempt {
  id: string;
  tenantId: string;
  channel: DeliveryChannel;
  status: DeliveryStatus;
  notificationId: string | null;
  eventId: string | null;
  content: Record<string, unknown> & { to?: unknown };
  /** Webhooks: the endpoint (its URL and sealed secrets are read at send time, `findEndpointToSend`). */
  endpointId: string | null;
  userId: string | null;
  /** Its notification's (null without one): a critical one is sent whatever the user's preferences say. */
  critical: boolean | null;
  /** Its notification's priority: only a normal-priority, non-critical e-mail waits in a digest. */
  priority: Priority;
  /** The digest it is held in (or was sent with). */
  digestId: string | null;
}

const deliveryToAttempt = rowMapper<DeliveryToAttempt>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  channel: col.of<DeliveryChannel>('channel'),
  status: col.of<DeliveryStatus>('status'),
  notificationId: col.textOrNull('notification_id'),
  eventId: col.textOrNull('event_id'),
  content: col.json<DeliveryToAttempt['content']>('content'),
  endpointId: col.textOrNull('endpoint_id'),
  userId: col.textOrNull('user_id'),
  critical: col.ofOrNull<boolean>('critical'),
  priority: col.of<Priority>('priority'),
  digestId: col.textOrNull('digest_id'),
});

/**
 * The delivery to attempt, with its endpoint id, its notification's user and criticality, in one
 * query; null if none. The user's preferences are read apart, through the cache
 * (activities/notifications/preferences.ts).
 */
export async function findDeliveryToAttempt(db: Db, tenantId: string, deliveryId: string): Promise<DeliveryToAttempt | null> {
  const { rows: [row] } = await db.query(
    `SELECT d.id, d.tenant_id, d.channel, d.status, d.notification_id, d.event_id, d.content, d.endpoint_id, n.user_id, n.critical,
       d.priority, d.digest_id
     FROM deliveries d
     LEFT JOIN notifications n ON n.id = d.notification_id
     WHERE d.id = $1 AND d.tenant_id = $2`,
    [deliveryId, tenantId],
  );
  return row ? deliveryToAttempt.map(row) : null;
}

/** The user opted out while it waited: skipped (unless an attempt already ended it). */
export async function skipOptedOutDelivery(db: Db, deliveryId: string): Promise<void> {
  await db.query(`UPDATE deliveries SET status = 'skipped_opt_out', updated_at = now() WHERE id = $1 AND status = 'queued'`,
    [deliveryId]);
}

/** The provider accepted it. Only a `queued` delivery changes: a retried attempt writes nothing twice. */
export async function recordDeliverySent(
  db: Db,
  input: { deliveryId: string; attempt: number; providerMessageId: string | null; responseStatus: number | null },
): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'sent', attempts = greatest(attempts, $2), provider_message_id = $3,
       response_status = $4, last_error = NULL, sent_at = now(), updated_at = now()
     WHERE id = $1 AND status = 'queued'`,
    [input.deliveryId, input.attempt, input.providerMessageId, input.responseStatus],
  );
}

/** An in-app delivery is `sent` once its inbox message is stored (in the same transaction). */
export async function recordInAppDeliverySent(db: Db, input: { deliveryId: string; attempt: number; messageId: string }): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'sent', attempts = greatest(attempts, $2), provider_message_id = $3,
       last_error = NULL, sent_at = now(), updated_at = now() WHERE id = $1 AND status = 'queued'`,
    [input.deliveryId, input.attempt, input.messageId],
  );
}

/** A failed attempt: a retryable one leaves it `queued` for the next attempt, a final one makes it `failed`. */
export async function recordDeliveryFailure(
  db: Db,
  input: { deliveryId: string; attempt: number; error: string; responseStatus: number | null; retryable: boolean },
): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = CASE WHEN $5 THEN status ELSE 'failed' END, attempts = greatest(attempts, $2),
       last_error = $3, response_status = $4, updated_at = now()
     WHERE id = $1 AND status = 'queued'`,
    [input.deliveryId, input.attempt, input.error, input.responseStatus, input.retryable],
  );
}

/** After the last attempt: the delivery waits in the dead letters for an ops retry. */
export async function deadLetterDelivery(db: Db, input: { tenantId: string; deliveryId: string; attempts: number }): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'dead_lettered', attempts = greatest(attempts, $3), updated_at = now()
     WHERE id = $1 AND tenant_id = $2 AND status = 'queued'`,
    [input.deliveryId, input.tenantId, input.attempts],
  );
}

/** How many attempts the delivery has had; null when there is no such delivery. */
export async function findDeliveryAttempts(db: Db, tenantId: string, deliveryId: string): Promise<number | null> {
  const { rows: [row] } = await db.query('SELECT attempts FROM deliveries WHERE id = $1 AND tenant_id = $2', [deliveryId, tenantId]);
  return row ? (row.attempts as number) : null;
}

// ---- Receipts -----------------------------------------------------------------------------------

/** A provider receipt applied to a notification's delivery (or found to change nothing). */
export interface DeliveryReceiptResult {
  tenantId: string;
  deliveryId: string;
  /** The delivery's status after the receipt. */
  status: DeliveryStatus;
  /** False for a duplicate, a late `delivered` after `bounced`, or a delivery that is not `sent`. */
  changed: boolean;
  /** Where it was sent: an address or number, or (push) the tokens. */
  to: string | string[] | null;
}

/**
 * Applies a provider's receipt (domain/notifications/receipts.ts) to the notification delivery
 * the provider accepted as `providerMessageId` on `channel`, in the caller's transaction. The row
 * is locked first and its status read under the lock: a statement whose snapshot predates the
 * attempt's commit cannot see the message id, so a single conditional UPDATE could miss a delivery
 * that an immediate re-read finds `sent`; a concurrent duplicate waits on the lock, then finds the
 * status moved. A bounce keeps its reason in `last_error`. Null when no delivery has that message id (yet).
 */
export async function applyDeliveryReceipt(
  client: pg.PoolClient,
  input: { channel: Channel; providerMessageId: string; status: ReceiptStatus; error: string | null },
): Promise<DeliveryReceiptResult | null> {
  assertInTransaction(client, 'applyDeliveryReceipt');
  const { rows: [row] } = await client.query(
    `SELECT id, tenant_id, status, content -> 'to' AS to FROM deliveries
     WHERE provider_message_id = $1 AND channel = $2 AND kind = 'notification' ORDER BY id LIMIT 1 FOR UPDATE`,
    [input.providerMessageId, input.channel],
  );
  if (!row) return null;
  const next = statusAfterReceipt(row.status as string, input.status);
  if (next !== null) {
    await client.query(
      `UPDATE deliveries SET status = $2, last_error = CASE WHEN $2 = 'bounced' THEN $3 ELSE last_error END, updated_at = now() WHERE id = $1`,
      [row.id, next, input.error],
    );
  }
  return {
    tenantId: row.tenant_id as string, deliveryId: row.id as string, status: next ?? (row.status as DeliveryStatus),
    changed: next !== null, to: (row.to as string | string[] | null) ?? null,
  };
}

// ---- Digests (store/notifications/digests.ts) ---------------------------------------------------

/** A queued e-mail waits in a digest (in the digest's transaction, under its lock); false if it is no longer queued. */
export async function holdDelivery(client: pg.PoolClient, deliveryId: string, digestId: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE deliveries SET status = 'held', digest_id = $2, attempts = greatest(attempts, 1), updated_at = now()
     WHERE id = $1 AND status = 'queued' AND channel = 'email'`,
    [deliveryId, digestId],
  );
  return rowCount === 1;
}

/** A held e-mail as its digest lists it: what its own e-mail would have said. */
export interface HeldEmail {
  id: string;
  subject: string;
  html: string;
  text: string;
}

/** The e-mails held in a digest, oldest first. */
export async function listHeldEmails(db: Db, digestId: string): Promise<HeldEmail[]> {
  const { rows } = await db.query(
    `SELECT id, content ->> 'subject' AS subject, content ->> 'html' AS html, content ->> 'text' AS text
     FROM deliveries WHERE digest_id = $1 AND status = 'held' ORDER BY id`,
    [digestId],
  );
  return rows.map((r) => ({ id: r.id as string, subject: (r.subject ?? '') as string, html: (r.html ?? '') as string, text: (r.text ?? '') as string }));
}

/**
 * A digest ended: its held e-mails end with it, `sent` with the digest's provider message id, or
 * skipped, failed or dead-lettered with its error. Only `held` rows change: a repeat writes nothing twice.
 */
export async function endHeldDeliveries(
  db: Db,
  digestId: string,
  end: { status: Extract<DeliveryStatus, 'sent' | 'skipped_opt_out' | 'skipped_no_contact' | 'failed' | 'dead_lettered'>;
    providerMessageId?: string | null; error?: string | null },
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE deliveries SET status = $2, provider_message_id = coalesce($3, provider_message_id), last_error = $4,
       sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END, updated_at = now()
     WHERE digest_id = $1 AND status = 'held'`,
    [digestId, end.status, end.providerMessageId ?? null, end.error ?? null],
  );
  return rowCount ?? 0;
}
