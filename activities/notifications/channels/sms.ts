import { callProvider, statusError } from './http.js';
import { DeliveryError, type SmsItemResult, type SmsSender } from './types.js';

export interface SmsSenderOptions {
  /** The Twilio-like API's base, e.g. `http://127.0.0.1:4020/sms` (config SMS_PROVIDER_URL). */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** The sender number (config SMS_FROM). */
  from: string;
  timeoutMs: number;
}

/** Most messages one bulk call carries (the provider's limit). */
const SMS_BULK_MAX = 1_000;

/** Twilio error codes that mean "this number cannot receive": the delivery fails for good. */
const RECIPIENT_ERRORS = new Set([21211, 21214, 21408, 21610, 21612, 21614]);

/**
 * SMS over a Twilio-like API: a form-encoded POST with basic auth, and the delivery's key as
 * `I-Twilio-Idempotency-Token`, so a retried send returns the first message instead of a second.
 * `sendBulk` (broadcasts) sends many in one JSON call per 1,000, each with its own key, answered
 * per message (a bad number fails alone; a failed call throws and is retried whole, by key).
 *
 * @example
 * const sms = createSmsSender({ baseUrl: config.SMS_PROVIDER_URL, accountSid, authToken, from: '+15550000000', timeoutMs: 5_000 });
 * await sms.send({ to: '+15551234567', body: 'Your code is 1234', idempotencyKey: deliveryId });
 */
export function createSmsSender(options: SmsSenderOptions): SmsSender {
  const url = `${options.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const bulkUrl = `${options.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages/Bulk.json`;
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  return {
    async send(message) {
      const { status, json } = await callProvider(url, {
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          'i-twilio-idempotency-token': message.idempotencyKey,
        },
        body: new URLSearchParams({ To: message.to, From: options.from, Body: message.body }).toString(),
        timeoutMs: options.timeoutMs,
      });
      const answer = (json ?? {}) as { sid?: unknown; code?: unknown; message?: unknown };
      if (status === 200 || status === 201) {
        if (typeof answer.sid !== 'string') throw new DeliveryError('SMS provider answered without a message sid', true, status, 'unexpected_response');
        return { providerMessageId: answer.sid, responseStatus: status };
      }
      const detail = typeof answer.code === 'number' ? `${answer.code} ${String(answer.message ?? '')}`.slice(0, 200) : '';
      if (status === 400 && typeof answer.code === 'number' && RECIPIENT_ERRORS.has(answer.code)) {
        throw new DeliveryError(`SMS provider refused the number: ${detail}`, false, status, 'recipient_rejected');
      }
      throw statusError('SMS provider', status, detail);
    },

    async sendBulk(messages) {
      const results: SmsItemResult[] = [];
      for (let start = 0; start < messages.length; start += SMS_BULK_MAX) {
        const chunk = messages.slice(start, start + SMS_BULK_MAX);
        const { status, json } = await callProvider(bulkUrl, {
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ from: options.from, messages: chunk.map((m) => ({ to: m.to, body: m.body, idempotency_key: m.idempotencyKey })) }),
          timeoutMs: options.timeoutMs,
        });
        const answers = (json as { results?: unknown } | null)?.results;
        if (status !== 200) throw statusError('SMS provider', status, '');
        if (!Array.isArray(answers) || answers.length !== chunk.length) {
          throw new DeliveryError('SMS provider answered a result per message mismatch', true, status, 'unexpected_response');
        }
        for (const answer of answers as { sid?: unknown; code?: unknown; message?: unknown }[]) {
          results.push(typeof answer.sid === 'string'
            ? { sid: answer.sid }
            : { error: `${String(answer.code)} ${String(answer.message ?? '')}`.slice(0, 200), permanent: RECIPIENT_ERRORS.has(Number(answer.code)) });
        }
      }
      return results;
    },
  };
}
