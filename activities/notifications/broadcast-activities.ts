import { createHash } from 'node:crypto';
import type pg from 'pg';
import {
  countOutcomes, planRecipient, type BroadcastChannel, type BroadcastRecipient, type BroadcastStatus, type ChannelPlan,
} from '../../domain/notifications/broadcast.js';
import { pickLocale, renderForLocale } from '../../domain/notifications/locales.js';
import type { LocalizedTemplate, RenderedContent } from '../../domain/notifications/types.js';
import { withTransaction } from '../../store/db.js';
import {
  completeBroadcast, findBroadcast, readDeferred, readPage, startSending, writeDeferred, writePage,
  type Broadcast, type DeliveryWrite, type PageWrite,
} from '../../store/notifications/broadcasts.js';
import { removeGonePushTokens } from '../../store/notifications/contacts.js';
import { metrics } from '../../platform/metrics.js';
import { asActivityStep } from '../failure.js';
import { DeliveryError, type ChannelSenders, type PushItem } from './channels/types.js';
import { localizedTemplateFor } from './plan-notification.js';

type BroadcastRef = { tenantId: string; broadcastId: string };
type Senders = Pick<ChannelSenders, 'push' | 'sms' | 'email'>;

/**
 * The steps of the broadcast workflow (workflows/notifications/broadcast.ts). A page: read the
 * next `pageSize` recipients after the cursor with their preferences, quiet hours and contacts (one
 * statement), send in-app, push (batched across messages with the process's other pushes), SMS (in
 * bulk calls) and e-mail (through the pooled SMTP transport) — every message keyed by broadcast,
 * recipient and channel, so a retried page re-sends nothing a provider already took — then commit
 * the outcomes, the in-app messages, the counts and the cursor together, only if the cursor is
 * still where the page started. Recipients inside their quiet hours are written `deferred`; the
 * deferred pass sends them once due, each row moving only while still `deferred`.
 */
export function createBroadcastActivities({ pool, senders }: { pool: pg.Pool; senders: Senders }) {
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
        const now = new Date();
        const sent = await sendToRecipients(pool, senders, b, recipients.map((r) => ({ recipient: r, plan: planRecipient(r, b.channels, now) })));
        const page: PageWrite = { fromCursor: b.cursor, toCursor: recipients.at(-1)!.userId, ...sent, counts: countOutcomes(sent.deliveries.map((d) => d.status)) };
        const written = await withTransaction(pool, (client) => writePage(client, b.tenantId, b.id, page));
        if (written) afterWrite(sent);
        await removeGonePushTokens(pool, b.tenantId, sent.goneTokens);
        return { done: recipients.length < input.pageSize };
      });
    },

    /**
     * The deferred pass, one batch: the recipients whose quiet hours have ended since their page,
     * read afresh and sent like a page. `done` when none is left; else `nextAt` (ISO) when the next
     * is due, or null to call again at once.
     */
    async sendDeferredBroadcast(input: BroadcastRef & { pageSize: number }): Promise<{ done: boolean; nextAt: string | null }> {
      return asActivityStep(async () => {
        const b = await findBroadcast(pool, input.tenantId, input.broadcastId);
        if (!b || b.status !== 'sending') return { done: true, nextAt: null };
        const now = new Date();
        const { recipients, nextAt } = await readDeferred(pool, b, input.pageSize, now);
        if (recipients.length === 0) return { done: nextAt === null, nextAt: nextAt?.toISOString() ?? null };
        const sent = await sendToRecipients(pool, senders, b, recipients.map((r) => ({ recipient: r, plan: planRecipient(r, r.channels, now) })));
        const written = await withTransaction(pool, (client) => writeDeferred(client, b.tenantId, b.id, sent.deliveries, sent.inbox));
        if (written) afterWrite(sent);
        await removeGonePushTokens(pool, b.tenantId, sent.goneTokens);
        return { done: false, nextAt: null };
      });
    },

    async finishBroadcast(ref: BroadcastRef): Promise<BroadcastStatus> {
      return asActivityStep(() => completeBroadcast(pool, ref.tenantId, ref.broadcastId));
    },
  };
}

export type BroadcastActivities = ReturnType<typeof createBroadcastActivities>;

type Planned = { recipient: BroadcastRecipient; plan: ChannelPlan[] };
type Sent = Pick<PageWrite, 'deliveries' | 'inbox'> & { goneTokens: string[] };
type Outcome = Pick<DeliveryWrite, 'status' | 'error' | 'providerMessageId'>;

function afterWrite(sent: Sent): void {
  for (const d of sent.deliveries) if (d.status !== 'deferred') metrics.deliveries.inc({ channel: d.channel, outcome: d.status });
}

/**
 * Sends what the plans say to send, on every channel at once, and says what to write: one row per
 * recipient and channel (deferred and skipped ones as planned), the in-app messages, and the push
 * tokens the provider reported gone. One recipient's refusal fails that delivery only; a provider
 * call that fails as a whole throws, and the page is retried (the keys make it re-send nothing).
 */
async function sendToRecipients(pool: pg.Pool, senders: Senders, b: Broadcast, planned: Planned[]): Promise<Sent> {
  const content = contentOf(await localizedTemplateFor(pool, b.tenantId, b.templateId), b.data);
  const due = (channel: BroadcastChannel) => planned.filter((p) => p.plan.some((c) => c.channel === channel && c.action === 'send')).map((p) => p.recipient);
  const [push, sms, email] = await Promise.all([
    sendPush(senders, b, due('push'), content),
    sendSms(senders, b, due('sms'), content),
    sendEmail(senders, b, due('email'), content),
  ]);
  const outcomes: Record<Exclude<BroadcastChannel, 'in_app'>, Map<string, Outcome>> = { push: push.outcomes, sms, email };
  const sent: Sent = { deliveries: [], inbox: [], goneTokens: push.gone };
  for (const { recipient, plan } of planned) {
    for (const c of plan) {
      const row = { userId: recipient.userId, channel: c.channel };
      if (c.action === 'deferred') sent.deliveries.push({ ...row, status: 'deferred', error: null, deliverAfter: c.deliverAfter });
      else if (c.action !== 'send') sent.deliveries.push({ ...row, status: c.action, error: null });
      else if (c.channel === 'in_app') {
        sent.deliveries.push({ ...row, status: 'sent', error: null });
        const inApp = content('in_app', recipient.locale);
        if (inApp.channel === 'in_app') sent.inbox.push({ userId: recipient.userId, title: inApp.title, body: inApp.body });
      } else sent.deliveries.push({ ...row, ...outcomes[c.channel].get(recipient.userId)! });
    }
  }
  return sent;
}

type Content = (channel: BroadcastChannel, locale: string | null | undefined) => RenderedContent;

/**
 * The broadcast's content per channel in each recipient's locale (their tag, its language, else the
 * template's default: domain/notifications/locales.ts), rendered once per channel and variant.
 */
function contentOf(template: LocalizedTemplate, data: Record<string, unknown>): Content {
  const rendered = new Map<string, RenderedContent>();
  return (channel, locale) => {
    const variant = pickLocale(template.locales, channel, locale);
    const key = `${channel}\u0000${variant ?? ''}`;
    let content = rendered.get(key);
    if (!content) rendered.set(key, content = renderForLocale(template, channel, data, variant));
    return content;
  };
}

/**
 * A recipient's part of a provider key: the user id when short and plain, else its SHA-256 (keys
 * and Message-IDs have length and character limits; user ids may be up to 255 of anything).
 */
function keyOf(b: Broadcast, userId: string, channel: BroadcastChannel): string {
  const part = /^[A-Za-z0-9._-]{1,64}$/.test(userId) ? userId : createHash('sha256').update(userId).digest('hex').slice(0, 40);
  return `${b.id}.${part}.${channel}`;
}

/**
 * Push to every token of the recipients, in the process's shared batches (`flush`: the page does
 * not wait out the window). A recipient is sent when any token was taken (the first message id
 * kept for receipts); tokens the provider says are gone are returned to be removed.
 */
async function sendPush(
  senders: Senders, b: Broadcast, recipients: BroadcastRecipient[], content: Content,
): Promise<{ outcomes: Map<string, Outcome>; gone: string[] }> {
  const outcomes = new Map<string, Outcome>();
  if (recipients.length === 0) return { outcomes, gone: [] };
  const items: (PushItem & { userId: string })[] = recipients.flatMap((r) => {
    const message = content('push', r.locale);
    if (message.channel !== 'push') throw new Error('push content expected');
    return [...new Set(r.pushTokens)].map((token) => ({
      userId: r.userId, token, title: message.title, body: message.body, idempotencyKey: keyOf(b, r.userId, 'push'),
    }));
  });
  const results = await senders.push.sendEach(items.map(({ userId: _user, ...item }) => item), { flush: true });
  const gone: string[] = [];
  results.forEach((result, i) => {
    const userId = items[i]!.userId;
    const current = outcomes.get(userId);
    if ('messageId' in result) {
      if (current?.status !== 'sent') outcomes.set(userId, { status: 'sent', error: null, providerMessageId: result.messageId });
      return;
    }
    if (result.permanent) gone.push(result.token);
    if (!current) outcomes.set(userId, { status: 'failed', error: result.permanent ? 'tokens_unregistered' : 'provider_unavailable', providerMessageId: null });
  });
  return { outcomes, gone };
}

/** SMS in bulk calls, one key per recipient: a bad number fails alone. */
async function sendSms(
  senders: Senders, b: Broadcast, recipients: BroadcastRecipient[], content: Content,
): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  if (recipients.length === 0) return outcomes;
  const results = await senders.sms.sendBulk(recipients.map((r) => {
    const message = content('sms', r.locale);
    if (message.channel !== 'sms') throw new Error('sms content expected');
    return { to: r.phone!, body: message.body, idempotencyKey: keyOf(b, r.userId, 'sms') };
  }));
  results.forEach((result, i) => {
    outcomes.set(recipients[i]!.userId, 'sid' in result
      ? { status: 'sent', error: null, providerMessageId: result.sid }
      : { status: 'failed', error: result.permanent ? 'recipient_rejected' : 'provider_unavailable', providerMessageId: null });
  });
  return outcomes;
}

/**
 * E-mail through the pooled SMTP transport, every recipient's message at once (the pool queues
 * them over its connections), each with the Message-ID of its key: a message re-sent after a
 * crash is recognisable downstream as the same one. A refused address fails alone; if every
 * message met a passing failure (the SMTP server is down) the page is retried instead.
 */
async function sendEmail(
  senders: Senders, b: Broadcast, recipients: BroadcastRecipient[], content: Content,
): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  if (recipients.length === 0) return outcomes;
  const results = await Promise.allSettled(recipients.map((r) => {
    const message = content('email', r.locale);
    if (message.channel !== 'email') throw new Error('email content expected');
    return senders.email.send({ to: r.email!, subject: message.subject, html: message.html, text: message.text, idempotencyKey: keyOf(b, r.userId, 'email') });
  }));
  const passing = results.filter((r) => r.status === 'rejected' && (!(r.reason instanceof DeliveryError) || r.reason.retryable));
  if (passing.length === results.length) throw (passing[0] as PromiseRejectedResult).reason;
  results.forEach((result, i) => {
    const userId = recipients[i]!.userId;
    if (result.status === 'fulfilled') outcomes.set(userId, { status: 'sent', error: null, providerMessageId: result.value.providerMessageId });
    else outcomes.set(userId, { status: 'failed', error: result.reason instanceof DeliveryError ? result.reason.code : 'unexpected_response', providerMessageId: null });
  });
  return outcomes;
}
