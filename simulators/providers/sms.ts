import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
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
    return c.json(wire(accept(store, credentials, { to, from, body, key })), 201);
  }).post('/2010-04-01/Accounts/:sid/Messages/Bulk.json', async (c) => {
    if (!authorized(c.req.header('authorization'), c.req.param('sid'), credentials)) {
      return twilioError(c, 401, 20003, 'Authentication Error - invalid username');
    }
    const parsed = bulkBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return twilioError(c, 400, 21602, `Invalid bulk request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const { from, messages } = parsed.data;
    const results = messages.map((m) => {
      if (!E164.test(m.to)) return { to: m.to, code: 21211, message: `The 'To' number ${m.to} is not a valid phone number.` };
      if (m.body.length > SMS_BODY_MAX_CHARS) return { to: m.to, code: 21617, message: 'The concatenated message body exceeds the 1600 character limit.' };
      return { to: m.to, sid: accept(store, credentials, { to: m.to, from, body: m.body, key: m.idempotency_key }).sid };
    });
    return c.json({ results }, 200);
  });
}

/** Most messages one bulk call takes. */
export const SMS_BULK_MAX = 1_000;

/**
 * The bulk send (like a messaging service's batch API): one sender, up to SMS_BULK_MAX messages,
 * each with its own idempotency key; answered per message, in order (a bad number fails alone).
 */
const bulkBody = z.strictObject({
  from: z.string().min(1).max(32),
  messages: z.array(z.strictObject({
    to: z.string().min(1).max(32), body: z.string().min(1), idempotency_key: z.string().min(1).max(255),
  })).min(1).max(SMS_BULK_MAX),
});

/** A message taken once per idempotency key (a repeat returns the first); without a key, always a new one. */
function accept(
  store: SmsStore, credentials: SmsCredentials, m: { to: string; from: string; body: string; key: string | null },
): SmsRecord {
  const seen = m.key === null ? undefined : store.get(`key:${m.key}`);
  if (seen) {
    seen.attempts += 1;
    return seen;
  }
  const sid = `SM${randomBytes(16).toString('hex')}`;
  const record: SmsRecord = {
    sid, account_sid: credentials.accountSid, to: m.to, from: m.from, body: m.body, status: 'queued',
    date_created: new Date().toUTCString(), idempotency_key: m.key, attempts: 1,
  };
  store.put(m.key === null ? `sid:${sid}` : `key:${m.key}`, record);
  return record;
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
