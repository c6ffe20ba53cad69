import { callProvider, statusError } from './http.js';
import { DeliveryError, type SmsSender } from './types.js';

export interface SmsSenderOptions {
  /** The Twilio-like API's base, e.g. `http://127.0.0.1:4020/sms` (config SMS_PROVIDER_URL). */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** The sender number (config SMS_FROM). */
  from: string;
  timeoutMs: number;
}

/** Twilio error codes that mean "this number cannot receive": the delivery fails for good. */
const RECIPIENT_ERRORS = new Set([21211, 21214, 21408, 21610, 21612, 21614]);

/**
 * SMS over a Twilio-like API: a form-encoded POST with basic auth, and the delivery's key as
 * `I-Twilio-Idempotency-Token`, so a retried send returns the first message instead of a second.
 *
 * @example
 * const sms = createSmsSender({ baseUrl: config.SMS_PROVIDER_URL, accountSid, authToken, from: '+15550000000', timeoutMs: 5_000 });
 * await sms.send({ to: '+15551234567', body: 'Your code is 1234', idempotencyKey: deliveryId });
 */
export function createSmsSender(options: SmsSenderOptions): SmsSender {
  const url = `${options.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
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
  };
}
