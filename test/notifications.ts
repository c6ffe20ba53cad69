import type { Call } from './harness.js';

export type Notification = {
  id: string;
  status: string;
  deliveries: { id: string; channel: string; status: string; attempts: number; last_error?: string | null }[];
};

const FINAL = new Set(['sent', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled']);

/** Polls until `done` holds for the value `read` returns (or fails after `timeoutMs`). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every delivery of the notification is final. */
export function settled(call: Call, id: string, timeoutMs?: number): Promise<Notification> {
  return eventually(
    async () => (await call('GET', `/v1/notifications/${id}`)).body as Notification,
    (n) => n.deliveries.every((d) => FINAL.has(d.status)) && n.status !== 'processing',
    timeoutMs,
  );
}

export function byChannel(notification: Notification): Record<string, { status: string; attempts: number; last_error?: string | null }> {
  return Object.fromEntries(notification.deliveries.map((d) => [d.channel, d]));
}
