import type pg from 'pg';
import {
  DIGEST_TEMPLATE_ID, digestWindowMs, renderDigest, type DigestInput, type DigestOutcome,
} from '../../domain/notifications/digest.js';
import { TemplateError } from '../../domain/notifications/render.js';
import type { Cache } from '../../platform/cache/index.js';
import { metrics } from '../../platform/metrics.js';
import type { OutboundLimiter } from '../../platform/rate-limit/outbound.js';
import { withTransaction } from '../../store/db.js';
import {
  closeDigest, countHeldMessage, endDigest, getDigest, lockDigest, lockOpenDigest, markDigestRunSeen, type Digest,
} from '../../store/notifications/digests.js';
import { endHeldDeliveries, holdDelivery, listHeldEmails, type DeliveryToAttempt } from '../../store/notifications/deliveries.js';
import { loadRecipient } from '../../store/notifications/recipients.js';
import { DeliveryError, type EmailSender } from './channels/types.js';
import { localizedTemplateFor } from './plan-notification.js';
import { optedOut, readPreferences } from './preferences.js';

/**
 * E-mail digests (issue #20, contract §10), the activity side. `holdForDigest` (in the e-mail
 * attempt) puts a normal-priority, non-critical e-mail of a user with `digest.email` into the
 * user's open digest instead of sending it, and starts that digest's workflow (`digest-<dgst_id>`,
 * USE_EXISTING: every hold of one digest lands on its one run; the start reconciler starts one a
 * crash left without). The workflow sleeps until the window ends, then `sendDigest` sends the ONE
 * e-mail and ends the held deliveries with it.
 */

/**
 * Starts a digest's workflow `digest-<dgst_id>`, idempotently: a running one is adopted, a closed
 * one left alone (workers/digest-starter.ts; the worker owns the Temporal client).
 */
export interface DigestStarter {
  start(input: DigestInput): Promise<void>;
}

export interface DigestHoldDeps {
  pool: pg.Pool;
  cache?: Cache | undefined;
  /** Absent: no digests (every e-mail goes at once). */
  digests?: { starter: DigestStarter; messagesMax: number } | undefined;
}

/**
 * Holds the e-mail in the user's open digest when it is one to hold: an e-mail of a normal-priority,
 * non-critical notification to a user with `digest.email` (a digest with `messagesMax` e-mails
 * already is not added to: this one goes at once). Then starts the digest's run (after the commit:
 * a start is not undone by a rollback). Null: send it now. A delivery held already (a retried
 * attempt) starts its digest's run again and stays held; one that stopped being `queued` meanwhile
 * (a concurrent attempt ended it) is not sent: `failed` for this attempt, the row keeps its status.
 */
export async function holdForDigest(
  deps: DigestHoldDeps, delivery: DeliveryToAttempt,
): Promise<{ status: 'held' } | { status: 'failed'; error: string } | null> {
  if (!deps.digests || delivery.channel !== 'email') return null;
  if (delivery.status === 'held' && delivery.digestId) {
    const held = await getDigest(deps.pool, delivery.tenantId, delivery.digestId);
    if (held && held.status === 'open') await startDigest(deps, held);
    return { status: 'held' };
  }
  if (delivery.status !== 'queued' || delivery.critical !== false || delivery.priority !== 'normal' || !delivery.userId) return null;
  const userId = delivery.userId;
  const preferences = await readPreferences({ db: deps.pool, cache: deps.cache }, delivery.tenantId, userId);
  const windowMs = preferences.digest ? digestWindowMs(preferences.digest.email) : null;
  if (windowMs === null) return null;
  const { messagesMax } = deps.digests;
  const digest = await withTransaction(deps.pool, async (client) => {
    const open = await lockOpenDigest(client, { tenantId: delivery.tenantId, userId, windowMs });
    if (open.messages >= messagesMax) return 'full' as const;
    if (!(await holdDelivery(client, delivery.id, open.id))) return 'not_queued' as const;
    await countHeldMessage(client, open.id);
    return open;
  });
  if (digest === 'full') return null;
  if (digest === 'not_queued') return { status: 'failed', error: 'delivery is no longer queued' };
  await startDigest(deps, digest);
  return { status: 'held' };
}

async function startDigest(deps: DigestHoldDeps, digest: Digest): Promise<void> {
  await deps.digests!.starter.start({ tenantId: digest.tenantId, digestId: digest.id, windowEnd: digest.windowEnd.toISOString() });
  await markDigestRunSeen(deps.pool, digest.id);
}

export interface DigestActivityDeps {
  pool: pg.Pool;
  email: EmailSender;
  outbound?: OutboundLimiter | undefined;
  cache?: Cache | undefined;
}

type DigestRef = { tenantId: string; digestId: string };
export interface DigestSent {
  status: DigestOutcome;
  /** The e-mails it carried (or ended otherwise). */
  messages: number;
}

/** The activities of the `digest` workflow (on the notifications control queue). */
export function createDigestActivities(deps: DigestActivityDeps) {
  return {
    /**
     * Closes the digest (its e-mail rendered, once), sends that ONE e-mail with `idempotencyKey`
     * (`<workflow id>:send`, its Message-ID), and ends the digest and its held e-mails `sent` with
     * the provider's message id, in one transaction. Idempotent: a digest already ended sends
     * nothing; a retry after an unknown outcome sends the same bytes with the same Message-ID.
     * A retryable SMTP failure throws (Temporal retries the activity); a refusal ends it `failed`.
     */
    async sendDigest(input: DigestRef & { idempotencyKey: string }): Promise<DigestSent> {
      const closed = await withTransaction(deps.pool, (client) => closeForSending(deps, client, input));
      if (closed.status !== 'sending') return { status: closed.status as DigestOutcome, messages: closed.messages };
      const content = closed.content!;
      await deps.outbound?.acquire('email');
      let providerMessageId: string | null;
      try {
        ({ providerMessageId } = await deps.email.send({ ...content, idempotencyKey: input.idempotencyKey }));
      } catch (err) {
        if (!(err instanceof DeliveryError) || err.retryable) throw err;
        await endWith(deps.pool, input.digestId, { status: 'failed', error: `digest: ${err.message}`.slice(0, 1_000) });
        metrics.deliveries.inc({ channel: 'email', outcome: 'failed' }, closed.messages);
        return { status: 'failed', messages: closed.messages };
      }
      await endWith(deps.pool, input.digestId, { status: 'sent', providerMessageId });
      metrics.deliveries.inc({ channel: 'email', outcome: 'sent' }, closed.messages);
      return { status: 'sent', messages: closed.messages };
    },

    /** `sendDigest` ran out of attempts: its held e-mails are dead-lettered (ops can retry each one). */
    async failDigest(input: DigestRef & { error: string }): Promise<DigestSent> {
      const digest = await getDigest(deps.pool, input.tenantId, input.digestId);
      if (!digest) throw new Error(`digest ${input.digestId} is missing`);
      await withTransaction(deps.pool, async (client) => {
        if (await endDigest(client, input.digestId, { status: 'failed', error: input.error.slice(0, 1_000) })) {
          await endHeldDeliveries(client, input.digestId, { status: 'dead_lettered', error: `digest: ${input.error}`.slice(0, 1_000) });
        }
      });
      return { status: 'failed', messages: digest.messages };
    },
  };
}

export type DigestActivities = ReturnType<typeof createDigestActivities>;

/** The digest and its held e-mails end together (only those still open, sending or held change). */
async function endWith(pool: pg.Pool, digestId: string, end: { status: 'sent' | 'failed'; providerMessageId?: string | null; error?: string }) {
  await withTransaction(pool, async (client) => {
    if (!(await endDigest(client, digestId, end))) return;
    await endHeldDeliveries(client, digestId, end.status === 'sent'
      ? { status: 'sent', providerMessageId: end.providerMessageId ?? null }
      : { status: 'failed', error: end.error ?? null });
  });
}

/**
 * Under the digest's lock: an open digest closes to new e-mails with its e-mail rendered (or ends
 * at once: nothing held, the user opted out of e-mail or has no address, its template cannot
 * render). Answers the digest as it now is.
 */
async function closeForSending(deps: DigestActivityDeps, client: pg.PoolClient, input: DigestRef): Promise<Digest> {
  const digest = await lockDigest(client, input.tenantId, input.digestId);
  if (!digest) throw new Error(`digest ${input.digestId} is missing`);
  if (digest.status !== 'open') return digest;
  const held = await listHeldEmails(client, digest.id);
  const end = async (status: 'skipped' | 'failed', deliveries: Parameters<typeof endHeldDeliveries>[2]) => {
    await endDigest(client, digest.id, { status, error: deliveries.error ?? null });
    await endHeldDeliveries(client, digest.id, deliveries);
    return { ...digest, status };
  };
  if (held.length === 0) return end('skipped', { status: 'failed', error: 'digest: nothing held' });
  const preferences = await readPreferences({ db: client, cache: deps.cache }, digest.tenantId, digest.userId);
  if (optedOut(preferences, 'email')) return end('skipped', { status: 'skipped_opt_out' });
  const recipient = await loadRecipient(client, digest.tenantId, digest.userId);
  if (!recipient.email) return end('skipped', { status: 'skipped_no_contact' });
  let rendered;
  try {
    rendered = renderDigest(await localizedTemplateFor(client, digest.tenantId, DIGEST_TEMPLATE_ID), held, recipient.locale);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    return end('failed', { status: 'failed', error: `template ${DIGEST_TEMPLATE_ID}: ${err.message}`.slice(0, 1_000) });
  }
  if (rendered.channel !== 'email') throw new Error('a digest renders an e-mail');
  const content = { to: recipient.email, subject: rendered.subject, html: rendered.html, text: rendered.text };
  await closeDigest(client, digest.id, content);
  return { ...digest, status: 'sending', content, messages: held.length };
}
