import type pg from 'pg';
import { withTransaction, type Db } from '../../store/db.js';
import type { Cache } from '../../platform/cache/index.js';
import { metrics } from '../../platform/metrics.js';
import type { OutboundLimiter } from '../../platform/rate-limit/outbound.js';
import { removePushTokens } from '../../store/notifications/contacts.js';
import {
  findDeliveryToAttempt, recordDeliveryFailure, recordDeliverySent, recordInAppDeliverySent, skipOptedOutDelivery,
  type DeliveryToAttempt,
} from '../../store/notifications/deliveries.js';
import { upsertInboxMessage } from '../../store/notifications/inbox.js';
import { findEndpointToSend } from '../../store/notifications/webhook-endpoints.js';
import { DeliveryError, type ChannelSenders, type SendResult } from './channels/types.js';
import { holdForDigest, type DigestHoldDeps } from './digest-activities.js';
import { optedOut, readPreferences } from './preferences.js';

export interface DeliveryDeps {
  pool: pg.Pool;
  senders: ChannelSenders;
  /** Caps calls per provider (OUTBOUND_RATE_LIMITS keyed by channel: email, sms, push, webhook). */
  outbound?: OutboundLimiter;
  /**
   * The process's cache: users' preferences are read through it (the plan and every attempt's
   * re-check), invalidated on every instance by each write. Absent: read from PostgreSQL each time.
   */
  cache?: Cache;
  /** E-mail digests (activities/notifications/digest-activities.ts); absent: every e-mail goes at once. */
  digests?: DigestHoldDeps['digests'];
}

/** `held`: the e-mail waits in the user's digest, which sends it (and ends it `sent`) when its window ends. */
export type AttemptResult = { status: 'sent' | 'failed' | 'retry' | 'held'; error?: string };

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
  const delivery = await findDeliveryToAttempt(deps.pool, input.tenantId, input.deliveryId);
  if (!delivery) throw new Error(`delivery ${input.deliveryId} is missing`);
  // Held in a digest already (a retried attempt): its digest's run is started again, it stays held.
  if (delivery.status === 'held') return (await holdForDigest(deps, delivery)) ?? { status: 'held' };
  const decided = await decideBeforeSending(deps.pool, delivery, deps.cache);
  if (decided) return decided;
  const held = await holdForDigest(deps, delivery);
  if (held) return held;
  if (delivery.channel === 'in_app') {
    await withTransaction(deps.pool, (client) => storeInApp(client, delivery, input.attempt));
    metrics.deliveries.inc({ channel: 'in_app', outcome: 'sent' });
    return { status: 'sent' };
  }
  return sendAndRecord(deps, delivery, input.attempt);
}

/**
 * One attempt of one in-app delivery inside the caller's transaction (release 0.2.0's first step
 * plans a notification and delivers its in-app messages in one): the same checks as
 * `attemptDelivery` — preferences again, a delivery already ended is not delivered twice.
 * `stored`: this call wrote the message (the caller counts it in the metrics once it committed).
 */
export async function attemptInAppIn(
  client: pg.PoolClient,
  input: { tenantId: string; deliveryId: string; attempt: number },
  cache?: Cache,
): Promise<{ status: 'sent' | 'failed'; stored: boolean }> {
  const delivery = await findDeliveryToAttempt(client, input.tenantId, input.deliveryId);
  if (!delivery) throw new Error(`delivery ${input.deliveryId} is missing`);
  if (delivery.channel !== 'in_app') throw new Error(`delivery ${input.deliveryId} is not an in-app delivery`);
  const decided = await decideBeforeSending(client, delivery, cache);
  if (decided) return { status: decided.status === 'sent' ? 'sent' : 'failed', stored: false };
  await storeInApp(client, delivery, input.attempt);
  return { status: 'sent', stored: true };
}

/**
 * What an attempt decides before it sends anything: already sent, ended otherwise, or opted out
 * since (skipped); null when it is to be sent.
 */
async function decideBeforeSending(db: Db, delivery: DeliveryToAttempt, cache: Cache | undefined): Promise<AttemptResult | null> {
  if (delivery.status === 'sent') return { status: 'sent' };
  if (delivery.status !== 'queued') return { status: 'failed', error: `delivery is ${delivery.status}` };
  // Preferences are checked again at every attempt: a user who opts out while a notification waits
  // (quiet hours, retries) is not sent it.
  if (await optedOutSince(db, delivery, cache)) {
    await skipOptedOutDelivery(db, delivery.id);
    return { status: 'failed', error: 'opted out' };
  }
  return null;
}

/** A user's notification (not critical, not a webhook) whose channel the user has turned off. */
async function optedOutSince(db: Db, delivery: DeliveryToAttempt, cache: Cache | undefined): Promise<boolean> {
  if (delivery.channel === 'webhook' || delivery.critical !== false || !delivery.userId) return false;
  const preferences = await readPreferences({ db, cache }, delivery.tenantId, delivery.userId);
  return optedOut(preferences, delivery.channel);
}

/** A provider's channel: one call, its outcome recorded. */
async function sendAndRecord(deps: DeliveryDeps, delivery: DeliveryToAttempt, attempt: number): Promise<AttemptResult> {
  // Outside the try: a provider's limit reached is not a failed attempt; the activity is retried.
  await deps.outbound?.acquire(delivery.channel);
  try {
    const result = await send(deps, delivery);
    await recordDeliverySent(deps.pool, {
      deliveryId: delivery.id, attempt, providerMessageId: result.providerMessageId,
      responseStatus: result.responseStatus ?? null,
    });
    metrics.deliveries.inc({ channel: delivery.channel, outcome: 'sent' });
    return { status: 'sent' };
  } catch (err) {
    const failure = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, true);
    await recordDeliveryFailure(deps.pool, {
      deliveryId: delivery.id, attempt, error: failure.message.slice(0, 1_000),
      responseStatus: failure.responseStatus ?? null, retryable: failure.retryable,
    });
    metrics.deliveries.inc({ channel: delivery.channel, outcome: failure.retryable ? 'retry' : 'failed' });
    return { status: failure.retryable ? 'retry' : 'failed', error: failure.message };
  }
}

function send(deps: DeliveryDeps, delivery: DeliveryToAttempt): Promise<SendResult> {
  const { senders } = deps;
  const content = delivery.content as Record<string, string> & { to: unknown };
  switch (delivery.channel) {
    case 'email':
      return senders.email.send({
        to: content.to as string, subject: content.subject ?? '', html: content.html ?? '', text: content.text ?? '',
        idempotencyKey: delivery.id,
      });
    case 'sms':
      return senders.sms.send({ to: content.to as string, body: content.body ?? '', idempotencyKey: delivery.id });
    case 'push':
      return sendPush(deps, delivery, content);
    case 'webhook':
      return sendWebhook(deps, delivery, content.body ?? '');
    case 'in_app':
      throw new Error('in-app deliveries are stored, not sent');
    default: {
      const unknown: never = delivery.channel;
      throw new Error(`unknown channel ${String(unknown)}`);
    }
  }
}

/**
 * Webhooks: the endpoint is read at each attempt, so a rotation's second signature and a deletion
 * apply to deliveries already waiting. A deleted endpoint gets nothing (its queued deliveries were
 * cancelled with it; this covers an attempt that raced the delete). The sealed secrets are opened
 * by the sender, just before signing.
 */
async function sendWebhook(deps: DeliveryDeps, delivery: DeliveryToAttempt, rawBody: string): Promise<SendResult> {
  if (!delivery.endpointId || !delivery.eventId) throw new DeliveryError('webhook endpoint is missing', false);
  const endpoint = await findEndpointToSend(deps.pool, delivery.tenantId, delivery.endpointId);
  if (!endpoint) throw new DeliveryError('webhook endpoint deleted', false);
  return deps.senders.webhook.send({
    url: endpoint.url, sealedSecrets: endpoint.sealedSecrets, eventId: delivery.eventId, rawBody, idempotencyKey: delivery.id,
  });
}

/** Push: tokens the provider says are gone are dropped from the user's contacts (as FCM advises). */
async function sendPush(deps: DeliveryDeps, delivery: DeliveryToAttempt, content: Record<string, unknown>) {
  const result = await deps.senders.push.send({
    tokens: content.to as string[], title: String(content.title ?? ''), body: String(content.body ?? ''), idempotencyKey: delivery.id,
  });
  if (delivery.userId && result.rejectedTokens.length > 0) {
    await removePushTokens(deps.pool, delivery.tenantId, delivery.userId, result.rejectedTokens);
  }
  return result;
}

/** In-app: the message row and the delivery's `sent` commit together; the insert trigger wakes SSE streams. */
async function storeInApp(client: pg.PoolClient, delivery: DeliveryToAttempt, attempt: number): Promise<void> {
  const messageId = await upsertInboxMessage(client, {
    tenantId: delivery.tenantId, userId: delivery.userId, notificationId: delivery.notificationId,
    // Planning rendered both as strings (the casts convert nothing).
    title: (delivery.content.title ?? '') as string, body: (delivery.content.body ?? '') as string,
  });
  await recordInAppDeliverySent(client, { deliveryId: delivery.id, attempt, messageId });
}
