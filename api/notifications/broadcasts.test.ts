import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroadcastActivities } from '../../activities/notifications/broadcast-activities.js';
import { createPushSender } from '../../activities/notifications/channels/push.js';
import { eventually, startNotificationStack, type NotificationStack } from '../../test/notifications.js';
import type { Call } from '../../test/harness.js';

/**
 * Broadcasts (contract §10, issue #20 item 1): one run per broadcast, in pages (BROADCAST_PAGE_SIZE
 * small here), preferences per recipient, exact counts, cancel, and a page retried after its commit.
 */

let stack: NotificationStack;
beforeAll(async () => {
  stack = await startNotificationStack({ BROADCAST_PAGE_SIZE: '7', PUSH_BATCH_SIZE: '5' });
});
afterAll(async () => {
  await stack?.close();
});

const TEMPLATE = { id: 'launch', channels: { in_app: { title: 'Launch', body: 'Hello {{name}}' }, push: { title: 'Launch', body: 'Hi {{name}}' } } };

/** A tenant with topic `news`: `count` subscribers u00..; some opted out of push or in-app, some without a push token. */
async function audience(count: number) {
  const tenant = await stack.h.newTenant();
  const { call } = tenant;
  expect((await call('POST', '/v1/notification-templates', { body: TEMPLATE })).status).toBe(201);
  expect((await call('POST', '/v1/topics', { body: { key: 'news', name: 'News' } })).status).toBe(201);
  const users = Array.from({ length: count }, (_, i) => `u${String(i).padStart(2, '0')}`);
  expect((await call('POST', '/v1/topics/news/subscribers', { body: { user_ids: users } })).status).toBe(200);
  for (const [i, user] of users.entries()) {
    if (i % 5 !== 4) await call('PUT', `/v1/users/${user}/contacts`, { body: { push_tokens: [`tok_${user}_${tenant.id}`] } });
    if (i % 10 === 3) await call('PUT', `/v1/users/${user}/notification-preferences`, { body: { push: false } });
    if (i % 10 === 7) await call('PUT', `/v1/users/${user}/notification-preferences`, { body: { in_app: false } });
  }
  return { tenant, call, users };
}

const finished = (call: Call, id: string) =>
  eventually(async () => (await call('GET', `/v1/broadcasts/${id}`)).body, (b) => b.status === 'completed' || b.status === 'cancelled', 30_000);

describe('broadcasts', () => {
  it('sends in-app and push to every subscriber once, honours each one’s preferences, and counts exactly', async () => {
    const { tenant, call, users } = await audience(30);
    const created = await call('POST', '/v1/broadcasts', { body: { topic_key: 'news', template_id: 'launch', data: { name: 'there' }, channels: ['in_app', 'push'] } });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({ object: 'broadcast', status: 'queued' });
    expect(created.body.id).toMatch(/^bc_/);
    const done = await finished(call, created.body.id);
    // 30 users: push off for 3 (u03, u13, u23), no token for 6 (i % 5 = 4), in-app off for 3 (u07, u17, u27).
    expect(done).toMatchObject({ status: 'completed', recipients: 30, counts: { sent: 27 + 21, failed: 0, skipped_opt_out: 6, skipped_no_contact: 6 } });
    const c = done.counts;
    expect(c.sent + c.failed + c.skipped_opt_out + c.skipped_no_contact).toBe(30 * 2);

    const inbox = async (user: string) => (await call('GET', `/v1/users/${user}/inbox`)).body.data;
    expect(await inbox('u00')).toEqual([expect.objectContaining({ title: 'Launch', body: 'Hello there', broadcast_id: created.body.id, notification_id: null })]);
    expect(await inbox('u07')).toEqual([]);
    const pushed = (await stack.sim.messages('push')).messages.filter((m) => m.token.endsWith(tenant.id));
    expect(pushed).toHaveLength(21);
    expect(new Set(pushed.map((m) => m.token)).size).toBe(21);

    const skipped = await call('GET', `/v1/broadcasts/${created.body.id}/deliveries?status=skipped_no_contact&limit=100`);
    expect(skipped.body.data.map((d: { user_id: string }) => d.user_id)).toEqual(users.filter((_, i) => i % 5 === 4));
    const firstPage = await call('GET', `/v1/broadcasts/${created.body.id}/deliveries?limit=3`);
    const next = await call('GET', `/v1/broadcasts/${created.body.id}/deliveries?limit=3&starting_after=${encodeURIComponent(firstPage.body.data[2].id)}`);
    expect([...firstPage.body.data, ...next.body.data].map((d: { id: string }) => d.id)).toEqual(['u00:in_app', 'u00:push', 'u01:in_app', 'u01:push', 'u02:in_app', 'u02:push']);
    expect((await call('POST', `/v1/broadcasts/${created.body.id}/cancel`)).body.error.code).toBe('broadcast_invalid_state');
  });

  it('two attempts of one page (a retry racing a slow first attempt) write, count and send it once', async () => {
    const { tenant, call } = await audience(10);
    const scheduled = new Date(Date.now() + 3_600_000).toISOString();
    const b = (await call('POST', '/v1/broadcasts', { body: { topic_key: 'news', template_id: 'launch', channels: ['in_app', 'push'], scheduled_at: scheduled } })).body;
    // Driven by hand (the run waits for its hour): both attempts read the same cursor and send the same page.
    const steps = createBroadcastActivities({
      pool: stack.h.pool, push: createPushSender({ baseUrl: stack.h.config.PUSH_PROVIDER_URL, batchSize: 5, timeoutMs: 5_000 }),
    });
    const ref = { tenantId: tenant.id, broadcastId: b.id };
    expect(await steps.startBroadcast(ref)).toBe('sending');
    await Promise.all([steps.sendBroadcastPage({ ...ref, pageSize: 4 }), steps.sendBroadcastPage({ ...ref, pageSize: 4 })]);
    const firstPage = (await call('GET', `/v1/broadcasts/${b.id}`)).body;
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((x, y) => x + y, 0);
    expect(sum(firstPage.counts)).toBe(8); // 4 recipients × 2 channels, once
    const { rows } = await stack.h.pool.query('SELECT count(*)::int AS n FROM broadcast_deliveries WHERE broadcast_id = $1', [b.id]);
    expect(rows[0].n).toBe(8);

    for (let done = false; !done;) done = (await steps.sendBroadcastPage({ ...ref, pageSize: 4 })).done;
    expect(await steps.finishBroadcast(ref)).toBe('completed');
    const after = (await call('GET', `/v1/broadcasts/${b.id}`)).body;
    expect(sum(after.counts)).toBe(20);
    const pushed = (await stack.sim.messages('push')).messages.filter((m) => m.token.endsWith(tenant.id));
    expect(new Set(pushed.map((m) => m.token)).size).toBe(pushed.length); // one message per token
    expect(pushed).toHaveLength(after.counts.sent - 9); // in-app sent to 9 (u07 off), push to the rest
    const inboxes = await stack.h.pool.query('SELECT count(*)::int AS n FROM inbox_messages WHERE broadcast_id = $1', [b.id]);
    expect(inboxes.rows[0].n).toBe(9);
  });

  it('cancel stops what is not sent; bad input is refused and writes nothing', async () => {
    const { call } = await audience(3);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const b = (await call('POST', '/v1/broadcasts', { body: { topic_key: 'news', template_id: 'launch', channels: ['in_app'], scheduled_at: later } })).body;
    const cancelled = await call('POST', `/v1/broadcasts/${b.id}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', counts: { sent: 0 } });
    expect((await call('GET', '/v1/users/u00/inbox')).body.data).toEqual([]);

    for (const [body, status] of [
      [{ topic_key: 'nope', template_id: 'launch', channels: ['in_app'] }, 404],
      [{ topic_key: 'news', template_id: 'nope', channels: ['in_app'] }, 404],
      [{ topic_key: 'news', template_id: 'launch', channels: ['email'] }, 400],
      [{ topic_key: 'news', template_id: 'launch', channels: [] }, 400],
    ] as const) {
      expect((await call('POST', '/v1/broadcasts', { body })).status, JSON.stringify(body)).toBe(status);
    }
  });
});
