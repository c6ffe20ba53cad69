import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { Records } from './records.js';

export interface WebhookRecord {
  id: string;
  path: string;
  /** The body exactly as received, so a test can verify the signature over it. */
  raw_body: string;
  signature: string | null;
  event_id: string | null;
  idempotency_key: string | null;
  user_agent: string | null;
  content_type: string | null;
  received_at: string;
  attempts: number;
}

export type WebhookStore = Records<WebhookRecord>;

/**
 * A merchant's webhook receiver: `POST /<any path>` answers 200 and records the delivery, once
 * per `Idempotency-Key` (as a careful merchant would; `attempts` counts the deliveries of it).
 * Faults make it fail (`fail_times`), time out (`delay`) or be gone (`always` with 410).
 */
export function createWebhookReceiverApp(store: WebhookStore) {
  return new Hono().post('/*', async (c) => {
    const rawBody = await c.req.text();
    const key = c.req.header('idempotency-key') ?? null;
    const seen = key === null ? undefined : store.get(`key:${key}`);
    if (seen) {
      seen.attempts += 1;
      return c.json({ received: true, duplicate: true });
    }
    const id = `whr_${randomUUID()}`;
    store.put(key === null ? `id:${id}` : `key:${key}`, {
      id, path: c.req.path, raw_body: rawBody, signature: c.req.header('steadfast-signature') ?? null,
      event_id: c.req.header('steadfast-event-id') ?? null, idempotency_key: key,
      user_agent: c.req.header('user-agent') ?? null, content_type: c.req.header('content-type') ?? null,
      received_at: new Date().toISOString(), attempts: 1,
    });
    return c.json({ received: true });
  });
}
