import type pg from 'pg';
import { countOutcomes, planRecipient, pushOutcome, type BroadcastRecipient } from '../../domain/notifications/broadcast.js';
import { renderContent } from '../../domain/notifications/render.js';
import type { TemplateChannels } from '../../domain/notifications/types.js';
import type { BroadcastStatus } from '../../domain/notifications/broadcast.js';
import { withTransaction } from '../../store/db.js';
import {
  completeBroadcast, findBroadcast, readPage, startSending, writePage, type Broadcast, type PageWrite,
} from '../../store/notifications/broadcasts.js';
import { metrics } from '../../platform/metrics.js';
import { asActivityStep } from '../failure.js';
import { PUSH_TOKENS_MAX } from './channels/push.js';
import { DeliveryError, type PushSender } from './channels/types.js';
import { templateFor } from './plan-notification.js';

type BroadcastRef = { tenantId: string; broadcastId: string };

/**
 * The steps of the broadcast workflow (workflows/notifications/broadcast.ts). A page: read the
 * next `pageSize` recipients after the cursor with their preferences and tokens (one statement),
 * send the push to all of the page's tokens in the provider's batches (idempotency key per page:
 * a retried page re-sends nothing the provider took), then commit the outcomes, the in-app
 * messages, the counts and the cursor together — only if the cursor is still where the page
 * started. A worker dying anywhere repeats at most the provider call, which the key dedupes.
 */
export function createBroadcastActivities({ pool, push }: { pool: pg.Pool; push: PushSender }) {
  return {
    async startBroadcast(ref: BroadcastRef): Promise<BroadcastStatus> {
      return asActivityStep(async () => (await startSending(pool, ref.tenantId, ref.broadcastId)).status);
    },

    /** One page; `done` once no recipient is left (or the broadcast is no longer sending). */
    async sendBroadcastPage(input: BroadcastRef & { pageSize: number }): Promise<{ done: boolean }> {
      return asActivityStep(async () => {
        const b = await findBroadcast(pool, input.tenantId, input.broadcastId);
        if (!b || b.status !== 'sending') return { done: true };
        const recipients = await readPage(pool, b, input.pageSize);
        if (recipients.length === 0) return { done: true };
        const page = await sendPage(pool, push, b, recipients);
        await withTransaction(pool, (client) => writePage(client, b.tenantId, b.id, page));
        metrics.deliveries.inc({ channel: 'in_app', outcome: 'sent' }, page.inbox.length);
        return { done: recipients.length < input.pageSize };
      });
    },

    async finishBroadcast(ref: BroadcastRef): Promise<BroadcastStatus> {
      return asActivityStep(() => completeBroadcast(pool, ref.tenantId, ref.broadcastId));
    },
  };
}

export type BroadcastActivities = ReturnType<typeof createBroadcastActivities>;

/** Renders once for the page (one message for everyone), sends the push, and says what to write. */
async function sendPage(pool: pg.Pool, push: PushSender, b: Broadcast, recipients: BroadcastRecipient[]): Promise<PageWrite> {
  const template = await templateFor(pool, b.tenantId, b.templateId);
  const plans = recipients.map((r) => ({ recipient: r, plan: planRecipient(r, b.channels) }));
  const pushTo = plans.filter((p) => p.plan.some((c) => c.channel === 'push' && c.action === 'send')).map((p) => p.recipient);
  const rejected = await sendPush(push, b, pushTo, template);
  const inApp = b.channels.includes('in_app') ? renderContent(template, 'in_app', b.data) : null;
  const write: PageWrite = { fromCursor: b.cursor, toCursor: recipients.at(-1)!.userId, deliveries: [], inbox: [], counts: countOutcomes([]) };
  for (const { recipient, plan } of plans) {
    for (const c of plan) {
      const status = c.action !== 'send' ? c.action
        : c.channel === 'push' ? (rejected === 'all' ? 'failed' : pushOutcome(recipient.pushTokens, rejected)) : 'sent';
      write.deliveries.push({ userId: recipient.userId, channel: c.channel, status, error: status === 'failed' ? 'tokens_unregistered' : null });
      if (c.channel === 'in_app' && status === 'sent' && inApp?.channel === 'in_app') write.inbox.push({ userId: recipient.userId, title: inApp.title, body: inApp.body });
    }
  }
  write.counts = countOutcomes(write.deliveries.map((d) => d.status));
  return write;
}

/**
 * The push of the page's recipients: the same message to all their tokens, in sends of at most
 * PUSH_TOKENS_MAX tokens (the sender batches each by PUSH_BATCH_SIZE per provider call). Returns the
 * tokens the provider rejected, or `all` when it took none.
 */
async function sendPush(
  push: PushSender, b: Broadcast, recipients: BroadcastRecipient[], template: TemplateChannels,
): Promise<ReadonlySet<string> | 'all'> {
  const tokens = [...new Set(recipients.flatMap((r) => r.pushTokens))];
  if (tokens.length === 0) return new Set();
  const content = renderContent(template, 'push', b.data);
  if (content.channel !== 'push') throw new Error('push content expected');
  const rejected = new Set<string>();
  for (let start = 0, i = 0; start < tokens.length; start += PUSH_TOKENS_MAX, i++) {
    const chunk = tokens.slice(start, start + PUSH_TOKENS_MAX);
    try {
      const result = await push.send({ tokens: chunk, title: content.title, body: content.body, idempotencyKey: `${b.id}:after:${b.cursor ?? ''}:${i}` });
      for (const token of result.rejectedTokens) rejected.add(token);
    } catch (err) {
      // Every token of the chunk unregistered (the sender's final refusal): they all failed.
      if (!(err instanceof DeliveryError) || err.retryable) throw err;
      for (const token of chunk) rejected.add(token);
    }
  }
  return rejected.size === tokens.length ? 'all' : rejected;
}
