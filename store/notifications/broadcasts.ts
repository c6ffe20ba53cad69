import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import {
  type BroadcastChannel, type BroadcastCounts, type BroadcastDeliveryStatus, type BroadcastRecipient, type BroadcastStatus,
} from '../../domain/notifications/broadcast.js';
import { NotificationError } from '../../domain/notifications/errors.js';
import { statusAfterReceipt, type ReceiptProvider, type ReceiptStatus } from '../../domain/notifications/receipts.js';
import type { Priority, QuietHours } from '../../domain/notifications/types.js';
import { copyFromStdin } from '../copy.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, pgErrorOf, rowMapper } from '../rows.js';

/**
 * The `broadcasts` and `broadcast_deliveries` tables (schema/0023, contract §10). A broadcast is
 * sent in pages of its topic's subscribers by user id; each page's outcomes, in-app messages,
 * counts and the new cursor commit together, and only if the cursor is still where the page
 * started (`writePage`): a retried page writes nothing twice, and a crash repeats no recipient.
 */

export interface Broadcast {
  id: string;
  tenantId: string;
  topicKey: string;
  templateId: string;
  data: Record<string, unknown>;
  channels: BroadcastChannel[];
  priority: Priority;
  scheduledAt: Date | null;
  status: BroadcastStatus;
  startedAt: Date | null;
  recipients: number;
  cursor: string | null;
  counts: BroadcastCounts;
  createdAt: Date;
  updatedAt: Date;
}

const broadcast = rowMapper<Broadcast>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  topicKey: col.text('topic_key'),
  templateId: col.text('template_id'),
  data: col.json<Record<string, unknown>>('data'),
  channels: col.of<BroadcastChannel[]>('channels'),
  priority: col.of<Priority>('priority'),
  scheduledAt: col.timestampOrNull('scheduled_at'),
  status: col.of<BroadcastStatus>('status'),
  startedAt: col.timestampOrNull('started_at'),
  recipients: col.int('recipients'),
  cursor: col.textOrNull('cursor'),
  counts: col.combined(['sent', 'failed', 'skipped_opt_out', 'skipped_no_contact'], (row) => ({
    sent: row.sent as number, failed: row.failed as number,
    skipped_opt_out: row.skipped_opt_out as number, skipped_no_contact: row.skipped_no_contact as number,
  })),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
});

export type NewBroadcast = Pick<Broadcast, 'tenantId' | 'topicKey' | 'templateId' | 'data' | 'channels' | 'priority' | 'scheduledAt'>;

/** Unknown topic: `resource_missing` (param `topic_key`). */
export async function insertBroadcast(db: Db, input: NewBroadcast): Promise<Broadcast> {
  try {
    const { rows } = await db.query(
      `INSERT INTO broadcasts (id, tenant_id, topic_key, template_id, data, channels, priority, scheduled_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${broadcast.columns()}`,
      [newId('broadcast'), input.tenantId, input.topicKey, input.templateId, JSON.stringify(input.data), input.channels, input.priority, input.scheduledAt],
    );
    return broadcast.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23503' && constraint === 'broadcasts_topic') throw new NotificationError('resource_missing', `No such topic: ${input.topicKey}`, 'topic_key');
    throw err;
  }
}

export async function findBroadcast(db: Db, tenantId: string, id: string): Promise<Broadcast | null> {
  const { rows } = await db.query(`SELECT ${broadcast.columns()} FROM broadcasts WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] ? broadcast.map(rows[0]) : null;
}

/**
 * `queued` → `sending`: the recipients are the topic's subscribers at this instant (counted now;
 * those who subscribe later are not sent to). A repeat returns the broadcast as it is.
 */
export async function startSending(db: Db, tenantId: string, id: string): Promise<Broadcast> {
  await db.query(
    `UPDATE broadcasts b SET status = 'sending', started_at = now(), updated_at = now(),
       recipients = (SELECT count(*) FROM topic_subscribers s WHERE s.tenant_id = b.tenant_id AND s.topic_key = b.topic_key AND s.created_at <= now())
     WHERE tenant_id = $1 AND id = $2 AND status = 'queued'`,
    [tenantId, id],
  );
  const current = await findBroadcast(db, tenantId, id);
  if (!current) throw new NotificationError('resource_missing', `No such broadcast: ${id}`, 'id');
  return current;
}

/**
 * What a page needs of each recipient, in the same statement as the recipients: preferences,
 * quiet hours, push tokens, and the e-mail address (the contact's, else the employee's) and phone
 * unless the provider reported them bounced (`contact_bounces`: they read as none).
 */
const RECIPIENT_COLUMNS = `
  p.in_app, p.push, p.email AS pref_email, p.sms AS pref_sms, p.quiet_hours,
  ARRAY(SELECT t FROM unnest(c.push_tokens) AS t WHERE NOT EXISTS (
    SELECT 1 FROM contact_bounces x WHERE x.tenant_id = s.tenant_id AND x.channel = 'push' AND x.address = t)) AS push_tokens,
  CASE WHEN EXISTS (SELECT 1 FROM contact_bounces x WHERE x.tenant_id = s.tenant_id AND x.channel = 'email' AND x.address = lower(coalesce(c.email, e.email)))
       THEN NULL ELSE coalesce(c.email, e.email) END AS contact_email,
  CASE WHEN EXISTS (SELECT 1 FROM contact_bounces x WHERE x.tenant_id = s.tenant_id AND x.channel = 'sms' AND x.address = c.phone)
       THEN NULL ELSE c.phone END AS contact_phone,
  c.locale`;
const RECIPIENT_JOINS = `
  LEFT JOIN notification_preferences p ON p.tenant_id = s.tenant_id AND p.user_id = s.user_id
  LEFT JOIN user_contacts c ON c.tenant_id = s.tenant_id AND c.user_id = s.user_id
  LEFT JOIN employees e ON e.tenant_id = s.tenant_id AND e.id = s.user_id`;

function recipientOf(r: Record<string, unknown>): BroadcastRecipient {
  return {
    userId: r.user_id as string,
    preferences: {
      in_app: r.in_app as boolean | null, push: r.push as boolean | null, email: r.pref_email as boolean | null, sms: r.pref_sms as boolean | null,
    },
    pushTokens: r.push_tokens as string[],
    email: r.contact_email as string | null,
    phone: r.contact_phone as string | null,
    quietHours: (r.quiet_hours ?? null) as QuietHours | null,
    locale: (r.locale ?? null) as string | null,
  };
}

/** The next page's recipients after the cursor, with what reaching them needs, in one statement. */
export async function readPage(db: Db, b: Broadcast, limit: number): Promise<BroadcastRecipient[]> {
  const { rows } = await db.query(
    `SELECT s.user_id, ${RECIPIENT_COLUMNS}
     FROM topic_subscribers s ${RECIPIENT_JOINS}
     WHERE s.tenant_id = $1 AND s.topic_key = $2 AND s.created_at <= $3 AND ($4::text IS NULL OR s.user_id > $4)
     ORDER BY s.user_id LIMIT $5`,
    [b.tenantId, b.topicKey, b.startedAt, b.cursor, limit],
  );
  return rows.map(recipientOf);
}

/** One recipient × channel outcome of a page (or of the deferred pass). */
export interface DeliveryWrite {
  userId: string;
  channel: BroadcastChannel;
  status: BroadcastDeliveryStatus;
  error: string | null;
  /** The provider's id of what it accepted (push: the first token's message), for receipts. */
  providerMessageId?: string | null;
  /** `deferred` only: when the recipient's quiet hours end. */
  deliverAfter?: Date | null;
}

export interface PageWrite {
  /** The cursor the page started from: the write happens only if it is still the broadcast's. */
  fromCursor: string | null;
  toCursor: string;
  deliveries: DeliveryWrite[];
  inbox: { userId: string; title: string; body: string }[];
  counts: BroadcastCounts;
}

/**
 * Commits a page: the cursor moves (compare-and-set), the counts grow, the outcomes and the in-app
 * messages are inserted in bulk (their keys make a repeat a no-op). False when the cursor had moved
 * (a retry of a page already written) or the broadcast is no longer `sending` (cancelled): nothing written.
 */
export async function writePage(client: pg.PoolClient, tenantId: string, broadcastId: string, page: PageWrite): Promise<boolean> {
  const d = page.deliveries;
  const m = page.inbox;
  // One statement, one round trip: the inserts take their broadcast id from the compare-and-set's
  // RETURNING, so when the cursor had moved (or the broadcast is no longer sending) they insert
  // nothing. A racing attempt waits on the row lock, then finds the cursor moved.
  const { rows } = await client.query(
    `WITH moved AS (
       UPDATE broadcasts SET cursor = $4, sent = sent + $5, failed = failed + $6, skipped_opt_out = skipped_opt_out + $7,
                             skipped_no_contact = skipped_no_contact + $8, updated_at = now()
       WHERE tenant_id = $1 AND id = $2 AND status = 'sending' AND cursor IS NOT DISTINCT FROM $3
       RETURNING id),
     outcomes AS (
       INSERT INTO broadcast_deliveries (broadcast_id, user_id, channel, status, error, provider_message_id, deliver_after)
       SELECT moved.id, u.* FROM moved, unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[]) AS u
       ON CONFLICT DO NOTHING),
     inbox AS (
       INSERT INTO inbox_messages (id, tenant_id, user_id, broadcast_id, title, body)
       SELECT i.id, $1, i.user_id, moved.id, i.title, i.body FROM moved, unnest($15::text[], $16::text[], $17::text[], $18::text[]) AS i(id, user_id, title, body)
       ON CONFLICT (broadcast_id, user_id) WHERE broadcast_id IS NOT NULL DO NOTHING)
     SELECT count(*)::int AS moved FROM moved`,
    [tenantId, broadcastId, page.fromCursor, page.toCursor, page.counts.sent, page.counts.failed, page.counts.skipped_opt_out, page.counts.skipped_no_contact,
      d.map((x) => x.userId), d.map((x) => x.channel), d.map((x) => x.status), d.map((x) => x.error),
      d.map((x) => x.providerMessageId ?? null), d.map((x) => x.deliverAfter ?? null),
      m.map(() => newId('inboxMessage')), m.map((x) => x.userId), m.map((x) => x.title), m.map((x) => x.body)],
  );
  return rows[0].moved === 1;
}

/** A recipient of the deferred pass: read afresh (preferences, contacts, quiet hours), with the channels still deferred. */
export interface DeferredRecipient extends BroadcastRecipient {
  channels: BroadcastChannel[];
}

/**
 * The next `limit` recipients whose deferred deliveries are due at `now`, read afresh (a user who
 * opted out or changed their quiet hours meanwhile is held to it), and when the next not yet due
 * one is (null: none left).
 */
export async function readDeferred(db: Db, b: Broadcast, limit: number, now: Date): Promise<{ recipients: DeferredRecipient[]; nextAt: Date | null }> {
  const { rows } = await db.query(
    `WITH due AS (
       SELECT user_id, array_agg(channel ORDER BY channel) AS channels FROM broadcast_deliveries
       WHERE broadcast_id = $2 AND status = 'deferred' AND deliver_after <= $3
       GROUP BY user_id ORDER BY user_id LIMIT $4)
     SELECT s.user_id, due.channels, ${RECIPIENT_COLUMNS}
     FROM due JOIN LATERAL (SELECT $1::text AS tenant_id, due.user_id) s ON true ${RECIPIENT_JOINS}
     ORDER BY s.user_id`,
    [b.tenantId, b.id, now, limit],
  );
  const next = rows.length > 0 ? null : (await db.query(
    `SELECT min(deliver_after) AS at FROM broadcast_deliveries WHERE broadcast_id = $1 AND status = 'deferred'`, [b.id],
  )).rows[0]?.at as Date | null;
  return { recipients: rows.map((r) => ({ ...recipientOf(r), channels: r.channels as BroadcastChannel[] })), nextAt: next ?? null };
}

/**
 * Commits deferred deliveries' outcomes, in one statement like `writePage`: each row moves only if
 * it is still `deferred` (a retried batch moves, counts and inserts nothing twice); the counts grow by
 * what moved to a final outcome; a recipient back in quiet hours stays deferred with the new time; an
 * in-app message is inserted for each in-app row that moved to `sent`. False when the broadcast is no
 * longer `sending` (cancelled): nothing written. A racing batch waits on the broadcast's row lock.
 */
export async function writeDeferred(
  client: pg.PoolClient, tenantId: string, broadcastId: string, deliveries: DeliveryWrite[], inbox: PageWrite['inbox'],
): Promise<boolean> {
  const d = deliveries;
  const { rows } = await client.query(
    `WITH live AS (
       SELECT id FROM broadcasts WHERE tenant_id = $1 AND id = $2 AND status = 'sending' FOR UPDATE),
     moved AS (
       UPDATE broadcast_deliveries x SET status = u.status, error = u.error, provider_message_id = u.provider_message_id, deliver_after = u.deliver_after
       FROM live, unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
         AS u(user_id, channel, status, error, provider_message_id, deliver_after)
       WHERE x.broadcast_id = live.id AND x.user_id = u.user_id AND x.channel = u.channel AND x.status = 'deferred'
       RETURNING x.user_id, x.channel, x.status),
     counted AS (
       UPDATE broadcasts b SET sent = b.sent + m.sent, failed = b.failed + m.failed, skipped_opt_out = b.skipped_opt_out + m.skipped_opt_out,
                               skipped_no_contact = b.skipped_no_contact + m.skipped_no_contact, updated_at = now()
       FROM live, (SELECT count(*) FILTER (WHERE status = 'sent') AS sent, count(*) FILTER (WHERE status = 'failed') AS failed,
                          count(*) FILTER (WHERE status = 'skipped_opt_out') AS skipped_opt_out,
                          count(*) FILTER (WHERE status = 'skipped_no_contact') AS skipped_no_contact FROM moved) m
       WHERE b.id = live.id),
     inbox AS (
       INSERT INTO inbox_messages (id, tenant_id, user_id, broadcast_id, title, body)
       SELECT i.id, $1, i.user_id, live.id, i.title, i.body
       FROM live, unnest($9::text[], $10::text[], $11::text[], $12::text[]) AS i(id, user_id, title, body)
       WHERE EXISTS (SELECT 1 FROM moved WHERE moved.user_id = i.user_id AND moved.channel = 'in_app' AND moved.status = 'sent')
       ON CONFLICT (broadcast_id, user_id) WHERE broadcast_id IS NOT NULL DO NOTHING)
     SELECT count(*)::int AS live FROM live`,
    [tenantId, broadcastId, d.map((x) => x.userId), d.map((x) => x.channel), d.map((x) => x.status), d.map((x) => x.error),
      d.map((x) => x.providerMessageId ?? null), d.map((x) => x.deliverAfter ?? null),
      inbox.map(() => newId('inboxMessage')), inbox.map((m) => m.userId), inbox.map((m) => m.title), inbox.map((m) => m.body)],
  );
  return rows[0].live === 1;
}

/** `sending` → `completed` (a cancelled one stays cancelled); returns the status. */
export async function completeBroadcast(db: Db, tenantId: string, id: string): Promise<BroadcastStatus> {
  await db.query(`UPDATE broadcasts SET status = 'completed', updated_at = now() WHERE tenant_id = $1 AND id = $2 AND status = 'sending'`, [tenantId, id]);
  return (await findBroadcast(db, tenantId, id))!.status;
}

/** `queued` or `sending` → `cancelled`: pages not yet written are not sent. A finished one: `broadcast_invalid_state`. */
export async function cancelBroadcast(db: Db, tenantId: string, id: string): Promise<Broadcast> {
  await db.query(
    `UPDATE broadcasts SET status = 'cancelled', updated_at = now() WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'sending')`, [tenantId, id],
  );
  const current = await findBroadcast(db, tenantId, id);
  if (!current) throw new NotificationError('resource_missing', `No such broadcast: ${id}`, 'id');
  if (current.status !== 'cancelled') throw new NotificationError('broadcast_invalid_state', `The broadcast is ${current.status}.`);
  return current;
}

export interface BroadcastDelivery {
  userId: string;
  channel: BroadcastChannel;
  status: BroadcastDeliveryStatus;
  error: string | null;
  createdAt: Date;
}

/** A broadcast's deliveries by user id then channel; `startingAfter` is `<user id>:<channel>` of the last one. */
export async function listBroadcastDeliveries(
  db: Db, broadcastId: string, page: PageQuery & { status?: BroadcastDeliveryStatus | undefined },
): Promise<ListPage<BroadcastDelivery>> {
  checkPageLimit(page.limit);
  const after = page.startingAfter ?? null;
  const split = after === null ? null : after.lastIndexOf(':');
  const [afterUser, afterChannel] = after === null || split === null || split < 0 ? [null, null] : [after.slice(0, split), after.slice(split + 1)];
  const { rows } = await db.query(
    `SELECT user_id, channel, status, error, created_at FROM broadcast_deliveries
     WHERE broadcast_id = $1 AND ($2::text IS NULL OR (user_id, channel) > ($2, $3::text)) AND ($4::text IS NULL OR status = $4)
     ORDER BY user_id, channel LIMIT $5`,
    [broadcastId, afterUser, afterChannel, page.status ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, (r) => ({
    userId: r.user_id as string, channel: r.channel as BroadcastChannel, status: r.status as BroadcastDeliveryStatus,
    error: r.error as string | null, createdAt: r.created_at as Date,
  }));
}

/**
 * The rows `writePage` writes (outcomes and in-app messages), loaded with one `COPY` per table and
 * nothing else: no cursor, no counts, no conflict handling. Not a way to send a broadcast: the
 * floor `bench:broadcast` measures the page path against, on the same tables and indexes.
 */
export async function copyPageRows(
  client: pg.PoolClient, tenantId: string, broadcastId: string, rows: Pick<PageWrite, 'deliveries' | 'inbox'>,
): Promise<{ deliveries: number; inbox: number }> {
  const deliveries = await copyFromStdin(client,
    'COPY broadcast_deliveries (broadcast_id, user_id, channel, status, error, provider_message_id, deliver_after) FROM STDIN',
    rows.deliveries.map((d) => [broadcastId, d.userId, d.channel, d.status, d.error, d.providerMessageId ?? null, d.deliverAfter?.toISOString() ?? null]));
  const inbox = await copyFromStdin(client, 'COPY inbox_messages (id, tenant_id, user_id, broadcast_id, title, body) FROM STDIN',
    rows.inbox.map((m) => [newId('inboxMessage'), tenantId, m.userId, broadcastId, m.title, m.body]));
  return { deliveries, inbox };
}

/** What a broadcast wrote, for checks: its outcomes by channel and status, and its in-app messages (and their distinct users). */
export async function broadcastWriteCounts(db: Db, broadcastId: string): Promise<{
  deliveries: Record<BroadcastChannel, Partial<Record<BroadcastDeliveryStatus, number>>>; inboxMessages: number; inboxUsers: number;
}> {
  const [outcomes, inbox] = await Promise.all([
    db.query(`SELECT channel, status, count(*)::int AS n FROM broadcast_deliveries WHERE broadcast_id = $1 GROUP BY channel, status`, [broadcastId]),
    db.query(`SELECT count(*)::int AS messages, count(DISTINCT user_id)::int AS users FROM inbox_messages WHERE broadcast_id = $1`, [broadcastId]),
  ]);
  const deliveries: Record<BroadcastChannel, Partial<Record<BroadcastDeliveryStatus, number>>> = { in_app: {}, push: {}, email: {}, sms: {} };
  for (const r of outcomes.rows) deliveries[r.channel as BroadcastChannel][r.status as BroadcastDeliveryStatus] = r.n as number;
  return { deliveries, inboxMessages: inbox.rows[0].messages as number, inboxUsers: inbox.rows[0].users as number };
}

/** A provider receipt applied to a broadcast's delivery (or found to change nothing). */
export interface BroadcastReceiptResult {
  tenantId: string;
  broadcastId: string;
  userId: string;
  /** The delivery's status after the receipt (`sent`, `delivered`, `bounced`, …). */
  status: string;
  changed: boolean;
}

/**
 * Applies a provider's receipt (domain/notifications/receipts.ts) to the broadcast delivery whose
 * page recorded `providerMessageId` on `channel`, in the caller's transaction, as
 * `applyDeliveryReceipt` does for a notification's: the row locked, its status read under the
 * lock, a duplicate changes nothing. Null when no broadcast delivery has that message id (yet).
 * The broadcast's counts stay as they are (`delivered` and `bounced` deliveries were counted `sent`).
 */
export async function applyBroadcastReceipt(
  client: pg.PoolClient,
  input: { channel: ReceiptProvider; providerMessageId: string; status: ReceiptStatus; error: string | null },
): Promise<BroadcastReceiptResult | null> {
  const { rows: [row] } = await client.query(
    `SELECT b.tenant_id, d.broadcast_id, d.user_id, d.status FROM broadcast_deliveries d JOIN broadcasts b ON b.id = d.broadcast_id
     WHERE d.provider_message_id = $1 AND d.channel = $2 LIMIT 1 FOR UPDATE OF d`,
    [input.providerMessageId, input.channel],
  );
  if (!row) return null;
  const next = statusAfterReceipt(row.status as string, input.status);
  if (next !== null) {
    await client.query(
      `UPDATE broadcast_deliveries SET status = $4, error = CASE WHEN $4 = 'bounced' THEN $5 ELSE error END
       WHERE broadcast_id = $1 AND user_id = $2 AND channel = $3 AND status = $6`,
      [row.broadcast_id, row.user_id, input.channel, next, input.error, row.status],
    );
  }
  return {
    tenantId: row.tenant_id as string, broadcastId: row.broadcast_id as string, userId: row.user_id as string,
    status: next ?? (row.status as string), changed: next !== null,
  };
}
