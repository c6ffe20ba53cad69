import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { Records } from './records.js';

/** Twilio's limit on one message body (it splits it into up to 10 segments). */
export const SMS_BODY_MAX_CHARS = 1_600;
const E164 = /^\+[1-9]\d{1,14}$/;

export interface SmsRecord {
  sid: string;
  account_sid: string;
  to: string;
  from: string;
  body: string;
  status: 'queued';
  date_created: string;
  /** null when the request carried no I-Twilio-Idempotency-Token (each such request is a new message). */
  idempotency_key: string | null;
  attempts: number;
}

export type SmsStore = Records<SmsRecord>;

export interface SmsCredentials {
  accountSid: string;
  authToken: string;
}

/**
 * A Twilio-like SMS provider: `POST /2010-04-01/Accounts/:sid/Messages.json`, form-encoded `To`,
 * `From`, `Body`, basic auth with the account sid and token. `I-Twilio-Idempotency-Token` makes a
 * retry return the first message. Errors are Twilio's: `{ code, message, status }`.
 */
export function createSmsApp(store: SmsStore, credentials: SmsCredentials) {
  return new Hono().post('/2010-04-01/Accounts/:sid/Messages.json', async (c) => {
    if (!authorized(c.req.header('authorization'), c.req.param('sid'), credentials)) {
      return twilioError(c, 401, 20003, 'Authentication Error - invalid username');
    }
    const form = await c.req.parseBody().catch(() => null);
    const field = (name: string) => (typeof form?.[name] === 'string' ? form[name] : '');
    const to = field('To');
    const from = field('From');
    const body = field('Body');
    if (!E164.test(to)) return twilioError(c, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (!from) return twilioError(c, 400, 21603, "A 'From' phone number is required.");
    if (!body) return twilioError(c, 400, 21602, 'Message body is required.');
    if (body.length > SMS_BODY_MAX_CHARS) return twilioError(c, 400, 21617, 'The concatenated message body exceeds the 1600 character limit.');

    const key = c.req.header('i-twilio-idempotency-token') ?? null;
    const seen = key === null ? undefined : store.get(`key:${key}`);
    if (seen) {
      seen.attempts += 1;
      return c.json(wire(seen), 201);
    }
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const record: SmsRecord = {
      sid, account_sid: credentials.accountSid, to, from, body, status: 'queued',
      date_created: new Date().toUTCString(), idempotency_key: key, attempts: 1,
    };
    store.put(key === null ? `sid:${sid}` : `key:${key}`, record);
    return c.json(wire(record), 201);
  });
}

function authorized(header: string | undefined, pathSid: string, credentials: SmsCredentials): boolean {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  return pathSid === credentials.accountSid && decoded === `${credentials.accountSid}:${credentials.authToken}`;
}

function twilioError(c: Context, status: 400 | 401, code: number, message: string) {
  return c.json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, status);
}

function wire(record: SmsRecord) {
  const { attempts: _attempts, idempotency_key: _key, ...rest } = record;
  return { ...rest, num_segments: String(Math.max(1, Math.ceil(record.body.length / 153))), error_code: null, error_message: null };
}
