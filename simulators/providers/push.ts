import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { Records } from './records.js';

/** Most tokens an FCM-like batch call takes. */
export const PUSH_TOKENS_MAX = 1_000;

const sendBatchBody = z.strictObject({
  tokens: z.array(z.string().min(1).max(4_096)).min(1).max(PUSH_TOKENS_MAX),
  notification: z.strictObject({ title: z.string().max(1_000), body: z.string().max(4_000) }),
  idempotency_key: z.string().min(1).max(255),
});

/**
 * FCM's `sendEach`: up to 1,000 messages, each its own token, notification and idempotency key —
 * what lets a sender batch across messages.
 */
const sendEachBody = z.strictObject({
  messages: z.array(z.strictObject({
    token: z.string().min(1).max(4_096),
    notification: z.strictObject({ title: z.string().max(1_000), body: z.string().max(4_000) }),
    idempotency_key: z.string().min(1).max(255),
  })).min(1).max(PUSH_TOKENS_MAX),
});

/** The same key and token give the same message id and send nothing twice. */
function accept(store: PushStore, key: string, token: string, notification: { title: string; body: string }): string {
  const recordKey = `${key}\u0000${token}`;
  const seen = store.get(recordKey);
  if (seen) {
    seen.attempts += 1;
    return seen.message_id;
  }
  const message_id = `projects/steadfast-sim/messages/${randomUUID()}`;
  store.put(recordKey, { message_id, token, idempotency_key: key, title: notification.title, body: notification.body, attempts: 1 });
  return message_id;
}

export interface PushRecord {
  message_id: string;
  token: string;
  idempotency_key: string;
  title: string;
  body: string;
  attempts: number;
}

export type PushResult = { token: string; message_id: string } | { token: string; error: 'UNREGISTERED' };

/** What the push provider accepted, and the size of every `send-each` call (to see batching). */
export class PushStore extends Records<PushRecord> {
  sendCalls: number[] = [];

  override clear(): void {
    super.clear();
    this.sendCalls = [];
  }
}

/**
 * An FCM-like push provider: `POST /v1/send-batch` sends one notification to up to 1,000 tokens.
 * Tokens starting with `bad_` are UNREGISTERED (the app was uninstalled). The same
 * idempotency key and token give the same message id and send nothing twice.
 */
export function createPushApp(store: PushStore) {
  return new Hono().post('/v1/send-each', async (c) => {
    const parsed = sendEachBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json({ error: { code: 'INVALID_ARGUMENT', message: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` } }, 400);
    }
    store.sendCalls.push(parsed.data.messages.length);
    const results: PushResult[] = parsed.data.messages.map((m) => {
      if (m.token.startsWith('bad_')) return { token: m.token, error: 'UNREGISTERED' };
      return { token: m.token, message_id: accept(store, m.idempotency_key, m.token, m.notification) };
    });
    return c.json({ results });
  }).post('/v1/send-batch', async (c) => {
    const parsed = sendBatchBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json({ error: { code: 'INVALID_ARGUMENT', message: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` } }, 400);
    }
    const { tokens, notification, idempotency_key: key } = parsed.data;
    const results: PushResult[] = tokens.map((token) => {
      if (token.startsWith('bad_')) return { token, error: 'UNREGISTERED' };
      return { token, message_id: accept(store, key, token, notification) };
    });
    return c.json({ results });
  });
}
