import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type {
  BroadcastChannel, BroadcastCounts, BroadcastDeliveryStatus, BroadcastRecipient, BroadcastStatus,
} from '../../domain/notifications/broadcast.js';
import { NotificationError } from '../../domain/notifications/errors.js';
import type { Priority } from '../../domain/notifications/types.js';
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

/** The next page's recipients after the cursor, with their preferences and push tokens, in one statement. */
export async function readPage(db: Db, b: Broadcast, limit: number): Promise<BroadcastRecipient[]> {
  const { rows } = await db.query(
    `SELECT s.user_id, p.in_app, p.push, coalesce(c.push_tokens, '{}') AS push_tokens
     FROM topic_subscribers s
     LEFT JOIN notification_preferences p ON p.tenant_id = s.tenant_id AND p.user_id = s.user_id
     LEFT JOIN user_contacts c ON c.tenant_id = s.tenant_id AND c.user_id = s.user_id
     WHERE s.tenant_id = $1 AND s.topic_key = $2 AND s.created_at <= $3 AND ($4::text IS NULL OR s.user_id > $4)
     ORDER BY s.user_id LIMIT $5`,
    [b.tenantId, b.topicKey, b.startedAt, b.cursor, limit],
  );
  return rows.map((r) => ({
    userId: r.user_id as string, preferences: { in_app: r.in_app as boolean | null, push: r.push as boolean | null }, pushTokens: r.push_tokens as string[],
  }));
}

export interface PageWrite {
  /** The cursor the page started from: the write happens only if it is still the broadcast's. */
  fromCursor: string | null;
  toCursor: string;
  deliveries: { userId: string; channel: BroadcastChannel; status: BroadcastDeliveryStatus; error: string | null }[];
  inbox: { userId: string; title: string; body: string }[];
  counts: BroadcastCounts;
}

/**
 * Commits a page: the cursor moves (compare-and-set), the counts grow, the outcomes and the in-app
 * messages are inserted in bulk (their keys make a repeat a no-op). False when the cursor had moved
 * (a retry of a page already written) or the broadcast is no longer `sending` (cancelled): nothing written.
 */
export async function writePage(client: pg.PoolClient, tenantId: string, broadcastId: string, page: PageWrite): Promise<boolean> {
  const moved = await client.query(
    `UPDATE broadcasts SET cursor = $4, sent = sent + $5, failed = failed + $6, skipped_opt_out = skipped_opt_out + $7,
                           skipped_no_contact = skipped_no_contact + $8, updated_at = now()
     WHERE tenant_id = $1 AND id = $2 AND status = 'sending' AND cursor IS NOT DISTINCT FROM $3`,
    [tenantId, broadcastId, page.fromCursor, page.toCursor, page.counts.sent, page.counts.failed, page.counts.skipped_opt_out, page.counts.skipped_no_contact],
  );
  if (moved.rowCount !== 1) return false;
  const d = page.deliveries;
  await client.query(
    `INSERT INTO broadcast_deliveries (broadcast_id, user_id, channel, status, error)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING`,
    [broadcastId, d.map((x) => x.userId), d.map((x) => x.channel), d.map((x) => x.status), d.map((x) => x.error)],
  );
  if (page.inbox.length > 0) {
    await client.query(
      `INSERT INTO inbox_messages (id, tenant_id, user_id, broadcast_id, title, body)
       SELECT m.id, $1, m.user_id, $2, m.title, m.body FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS m(id, user_id, title, body)
       ON CONFLICT (broadcast_id, user_id) WHERE broadcast_id IS NOT NULL DO NOTHING`,
      [tenantId, broadcastId, page.inbox.map(() => newId('inboxMessage')), page.inbox.map((m) => m.userId), page.inbox.map((m) => m.title), page.inbox.map((m) => m.body)],
    );
  }
  return true;
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
