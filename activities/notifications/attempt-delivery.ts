import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { DeliveryChannel } from '../../domain/notifications/types.js';
import { withTransaction } from '../../platform/db.js';
import { metrics } from '../../platform/metrics.js';
import type { OutboundLimiter } from '../../platform/rate-limit/outbound.js';
import { removePushTokens } from './contacts.js';
import { DeliveryError, type ChannelSenders, type SendResult } from './channels/types.js';

export interface DeliveryDeps {
  pool: pg.Pool;
  senders: ChannelSenders;
  /** Caps calls per provider (OUTBOUND_RATE_LIMITS keyed by channel: email, sms, push, webhook). */
  outbound?: OutboundLimiter;
}

export type AttemptResult = { status: 'sent' | 'failed' | 'retry'; error?: string };

interface DeliveryRow {
  id: string;
  tenant_id: string;
  channel: DeliveryChannel;
  status: string;
  notification_id: string | null;
  event_id: string | null;
  content: Record<string, unknown> & { to?: unknown };
  url: string | null;
  secret: string | null;
  user_id: string | null;
  /** The user turned this channel off since the plan (and the notification is not critical). */
  opted_out: boolean | null;
}

/**
 * One attempt of one delivery. Idempotent: a delivery that is not `queued` any more is not sent
 * again, and every provider call carries the delivery id as its key (the provider dedupes a
 * resent request; email carries it as its Message-ID). Provider failures are returned, not thrown:
 * the workflow owns the retry schedule. Only infrastructure errors (database) throw.
 */
export async function attemptDelivery(
  deps: DeliveryDeps,
  input: { tenantId: string; deliveryId: string; attempt: number },
): Promise<AttemptResult> {
  const { rows: [row] } = await deps.pool.query<DeliveryRow>(
    `SELECT d.id, d.tenant_id, d.channel, d.status, d.notification_id, d.event_id, d.content, w.url, w.secret, n.user_id,
       NOT n.critical AND CASE d.channel WHEN 'email' THEN p.email WHEN 'sms' THEN p.sms WHEN 'push' THEN p.push
         WHEN 'in_app' THEN p.in_app END IS FALSE AS opted_out
     FROM deliveries d
     LEFT JOIN webhook_endpoints w ON w.id = d.endpoint_id
     LEFT JOIN notifications n ON n.id = d.notification_id
     LEFT JOIN notification_preferences p ON p.tenant_id = n.tenant_id AND p.user_id = n.user_id
     WHERE d.id = $1 AND d.tenant_id = $2`,
    [input.deliveryId, input.tenantId],
  );
  if (!row) throw new Error(`delivery ${input.deliveryId} is missing`);
  if (row.status === 'sent') return { status: 'sent' };
  if (row.status !== 'queued') return { status: 'failed', error: `delivery is ${row.status}` };
  // Preferences are checked again at every attempt: a user who opts out while a notification waits
  // (quiet hours, retries) is not sent it.
  if (row.opted_out) {
    await deps.pool.query(`UPDATE deliveries SET status = 'skipped_opt_out', updated_at = now() WHERE id = $1 AND status = 'queued'`, [row.id]);
    return { status: 'failed', error: 'opted out' };
  }
  if (row.channel === 'in_app') return deliverInApp(deps.pool, row, input.attempt);
  // Outside the try: a provider's limit reached is not a failed attempt; the activity is retried.
  await deps.outbound?.acquire(row.channel);
  try {
    const result = await send(deps, row);
    await deps.pool.query(
      `UPDATE deliveries SET status = 'sent', attempts = greatest(attempts, $2), provider_message_id = $3,
         response_status = $4, last_error = NULL, sent_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'queued'`,
      [row.id, input.attempt, result.providerMessageId, result.responseStatus ?? null],
    );
    metrics.deliveries.inc({ channel: row.channel, outcome: 'sent' });
    return { status: 'sent' };
  } catch (err) {
    const failure = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, true);
    await deps.pool.query(
      `UPDATE deliveries SET status = CASE WHEN $5 THEN status ELSE 'failed' END, attempts = greatest(attempts, $2),
         last_error = $3, response_status = $4, updated_at = now()
       WHERE id = $1 AND status = 'queued'`,
      [row.id, input.attempt, failure.message.slice(0, 1_000), failure.responseStatus ?? null, failure.retryable],
    );
    metrics.deliveries.inc({ channel: row.channel, outcome: failure.retryable ? 'retry' : 'failed' });
    return { status: failure.retryable ? 'retry' : 'failed', error: failure.message };
  }
}

function send(deps: DeliveryDeps, row: DeliveryRow): Promise<SendResult> {
  const { senders } = deps;
  const content = row.content as Record<string, string> & { to: unknown };
  switch (row.channel) {
    case 'email':
      return senders.email.send({
        to: content.to as string, subject: content.subject ?? '', html: content.html ?? '', text: content.text ?? '',
        idempotencyKey: row.id,
      });
    case 'sms':
      return senders.sms.send({ to: content.to as string, body: content.body ?? '', idempotencyKey: row.id });
    case 'push':
      return sendPush(deps, row, content);
    case 'webhook':
      if (!row.url || !row.secret || !row.event_id) throw new DeliveryError('webhook endpoint is missing', false);
      return senders.webhook.send({ url: row.url, secret: row.secret, eventId: row.event_id, rawBody: content.body ?? '', idempotencyKey: row.id });
    case 'in_app':
      throw new Error('in-app deliveries are stored, not sent');
    default: {
      const unknown: never = row.channel;
      throw new Error(`unknown channel ${String(unknown)}`);
    }
  }
}

/** Push: tokens the provider says are gone are dropped from the user's contacts (as FCM advises). */
async function sendPush(deps: DeliveryDeps, row: DeliveryRow, content: Record<string, unknown>) {
  const result = await deps.senders.push.send({
    tokens: content.to as string[], title: String(content.title ?? ''), body: String(content.body ?? ''), idempotencyKey: row.id,
  });
  if (row.user_id && result.rejectedTokens.length > 0) await removePushTokens(deps.pool, row.tenant_id, row.user_id, result.rejectedTokens);
  return result;
}

/** In-app: the message row and the delivery's `sent` commit together; the insert trigger wakes SSE streams. */
async function deliverInApp(pool: pg.Pool, row: DeliveryRow, attempt: number): Promise<AttemptResult> {
  await withTransaction(pool, async (client) => {
    const { rows: [message] } = await client.query(
      `INSERT INTO inbox_messages (id, tenant_id, user_id, notification_id, title, body)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (notification_id) DO UPDATE SET notification_id = EXCLUDED.notification_id
       RETURNING id`,
      [newId('inboxMessage'), row.tenant_id, row.user_id, row.notification_id, row.content.title ?? '', row.content.body ?? ''],
    );
    await client.query(
      `UPDATE deliveries SET status = 'sent', attempts = greatest(attempts, $2), provider_message_id = $3,
         last_error = NULL, sent_at = now(), updated_at = now() WHERE id = $1 AND status = 'queued'`,
      [row.id, attempt, message.id],
    );
  });
  metrics.deliveries.inc({ channel: 'in_app', outcome: 'sent' });
  return { status: 'sent' };
}
