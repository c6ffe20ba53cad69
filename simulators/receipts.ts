import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReceiptCallback, ReceiptProvider, ReceiptStatus } from '../domain/notifications/receipts.js';
import { PROVIDER_SIGNATURE_HEADER } from '../domain/notifications/receipts.js';
import { signWebhook } from '../domain/notifications/signature.js';
import type { Config } from '../platform/config.js';

/**
 * The simulators' delivery receipts (contract §10), as SES, SendGrid or Twilio send them: for
 * every message a provider accepted, a JSON status callback POSTed to `<url>/<provider>` some time
 * later, signed `Provider-Signature: t=…,v1=…` with that provider's shared secret. Deterministic
 * outcomes for tests and drills (`simulatedOutcome`): e-mail to `bounce_…@`, push tokens
 * `bounce_…` and numbers in the unassigned `+1 999` area bounce; everything else is delivered.
 * A callback answered 404 (the message is not recorded yet: the sender's write races the
 * callback), 409, 429, 5xx or not at all is retried with backoff, a few times, then dropped.
 */

export interface ReceiptSettings {
  /** The receiver's base, e.g. `http://127.0.0.1:3000/v1/provider-callbacks` (config PROVIDER_CALLBACK_URL). */
  url: string;
  /** Each provider's signing secret (config EMAIL_/SMS_/PUSH_CALLBACK_SECRET); a provider without one sends none. */
  secrets: Partial<Record<ReceiptProvider, string>>;
  /** How long after accepting a message its callback leaves (default 0: at once). */
  delayMs?: number;
}

export interface ReceiptOutcome {
  status: ReceiptStatus;
  errorCode: string | null;
}

const ATTEMPTS_MAX = 8;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 8_000;
const REQUEST_TIMEOUT_MS = 5_000;
/** Callbacks waiting or being sent at most; more are dropped (and counted). */
const PENDING_MAX = 10_000;
const RETRIED_STATUSES = new Set([404, 408, 409, 425, 429]);
const BOUNCING_NUMBER = /^\+1999/;

/** What becomes of a message to `recipient`: the simulators' deterministic rule. */
export function simulatedOutcome(provider: ReceiptProvider, recipient: string): ReceiptOutcome {
  switch (provider) {
    case 'email': return recipient.toLowerCase().startsWith('bounce_') ? { status: 'bounced', errorCode: '5.1.1' } : { status: 'delivered', errorCode: null };
    case 'sms': return BOUNCING_NUMBER.test(recipient) ? { status: 'bounced', errorCode: '30003' } : { status: 'delivered', errorCode: null };
    case 'push': return recipient.startsWith('bounce_') ? { status: 'bounced', errorCode: 'UNREGISTERED' } : { status: 'delivered', errorCode: null };
    default: {
      const unknown: never = provider;
      throw new Error(`unknown provider ${String(unknown)}`);
    }
  }
}

/**
 * Sends the receipts of one simulator process. Unconfigured (`configure(null)`, the default) it
 * sends nothing, so the simulators' other users see no difference.
 *
 * @example
 * const receipts = new ReceiptSender();
 * receipts.configure({ url: `${api}/v1/provider-callbacks`, secrets: { sms: config.SMS_CALLBACK_SECRET } });
 * receipts.accepted('sms', { messageId: record.sid, recipient: record.to });
 */
export class ReceiptSender {
  #settings: ReceiptSettings | null = null;
  readonly #stopping = new AbortController();
  #pending = 0;
  /** Callbacks answered 2xx, given up on, and dropped for want of room. */
  readonly counts = { delivered: 0, abandoned: 0, dropped: 0 };

  constructor(settings: ReceiptSettings | null = null) {
    this.#settings = settings;
  }

  configure(settings: ReceiptSettings | null): void {
    this.#settings = settings;
  }

  /** A message was accepted: its receipt leaves in the background (never delays the provider's answer). */
  accepted(provider: ReceiptProvider, message: { messageId: string; recipient: string }): void {
    const settings = this.#settings;
    const secret = settings?.secrets[provider];
    if (!settings || !secret || this.#stopping.signal.aborted) return;
    if (this.#pending >= PENDING_MAX) {
      this.counts.dropped += 1;
      return;
    }
    const outcome = simulatedOutcome(provider, message.recipient);
    const body: ReceiptCallback = {
      id: `evt_sim_${randomUUID()}`, message_id: message.messageId, status: outcome.status, recipient: message.recipient,
      occurred_at: new Date().toISOString(), error_code: outcome.errorCode,
    };
    this.#pending += 1;
    void this.#deliver(`${settings.url.replace(/\/$/, '')}/${provider}`, secret, JSON.stringify(body), settings.delayMs ?? 0)
      .finally(() => { this.#pending -= 1; });
  }

  /** Stops sending: waiting callbacks are dropped. */
  close(): void {
    this.#stopping.abort();
  }

  async #deliver(url: string, secret: string, rawBody: string, delayMs: number): Promise<void> {
    const signal = this.#stopping.signal;
    if (delayMs > 0 && !(await sleep(delayMs, true, { signal }).catch(() => false))) return;
    for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
      const status = await post(url, secret, rawBody, signal);
      if (status !== null && status >= 200 && status < 300) {
        this.counts.delivered += 1;
        return;
      }
      const retry = status === null || status >= 500 || RETRIED_STATUSES.has(status);
      const backoffMs = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1));
      if (!retry || attempt === ATTEMPTS_MAX || !(await sleep(backoffMs, true, { signal }).catch(() => false))) break;
    }
    this.counts.abandoned += 1;
  }
}

/** One signed POST (signed now: a retry is not a stale replay); null when no answer came. */
async function post(url: string, secret: string, rawBody: string, stopping: AbortSignal): Promise<number | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [PROVIDER_SIGNATURE_HEADER]: signWebhook(secret, Math.floor(Date.now() / 1_000), rawBody) },
      body: rawBody,
      signal: AbortSignal.any([stopping, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return null;
  }
}

/** The receipts a simulator process sends under `config` (PROVIDER_CALLBACK_URL unset: none). */
export function receiptSenderOf(
  config: Pick<Config, 'PROVIDER_CALLBACK_URL' | 'EMAIL_CALLBACK_SECRET' | 'SMS_CALLBACK_SECRET' | 'PUSH_CALLBACK_SECRET'>,
): ReceiptSender | undefined {
  if (!config.PROVIDER_CALLBACK_URL) return undefined;
  return new ReceiptSender({
    url: config.PROVIDER_CALLBACK_URL,
    secrets: { email: config.EMAIL_CALLBACK_SECRET, sms: config.SMS_CALLBACK_SECRET, push: config.PUSH_CALLBACK_SECRET },
  });
}
