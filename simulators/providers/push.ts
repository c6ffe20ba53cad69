import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Records } from './records.js';

/** Most tokens an FCM-like batch call takes. */
export const PUSH_TOKENS_MAX = 1_000;

const sendBatchBody = z.strictObject({
  tokens: z.array(z.string().min(1).max(4_096)).min(1).max(PUSH_TOKENS_MAX),
  notification: z.strictObject({ title: z.string().max(1_000), body: z.string().max(4_000) }),
  idempotency_key: z.string().min(1).max(255),
});

export interface PushRecord {
  message_id: string;
  token: string;
  idempotency_key: string;
  title: string;
  body: string;
  attempts: number;
}

export type PushResult = { token: string; message_id: string } | { token: string; error: 'UNREGISTERED' };

export type PushStore = Records<PushRecord>;

/**
 * An FCM-like push provider: `POST /v1/send-batch` sends one notification to up to 1,000 tokens.
 * Tokens starting with `bad_` are UNREGISTERED (the app was uninstalled). The same
 * idempotency key and token give the same message id and send nothing twice.
 */
export function createPushApp(store: PushStore) {
  return new Hono().post('/v1/send-batch', async (c) => {
    const parsed = sendBatchBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json({ error: { code: 'INVALID_ARGUMENT', message: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` } }, 400);
    }
    const { tokens, notification, idempotency_key: key } = parsed.data;
    const results: PushResult[] = tokens.map((token) => {
      if (token.startsWith('bad_')) return { token, error: 'UNREGISTERED' };
      const recordKey = `${key}\u0000${token}`;
      const seen = store.get(recordKey);
      if (seen) {
        seen.attempts += 1;
        return { token, message_id: seen.message_id };
      }
      const message_id = `projects/steadfast-sim/messages/${randomUUID()}`;
      store.put(recordKey, { message_id, token, idempotency_key: key, title: notification.title, body: notification.body, attempts: 1 });
      return { token, message_id };
    });
    return c.json({ results });
  });
}
