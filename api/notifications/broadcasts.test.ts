import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroadcastActivities } from '../../activities/notifications/broadcast-activities.js';
import { createChannelSenders } from '../../activities/notifications/channels/index.js';
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

/** The adapters for steps driven by hand (their push window closed at once), closed after the file. */
let senders: ReturnType<typeof createChannelSenders> | undefined;
function handSenders() {
  senders ??= createChannelSenders({ ...stack.h.config, PUSH_BATCH_WINDOW: 0 });
  return senders;
}
afterAll(async () => {
  await senders?.push.close();
  senders?.email.close();
});

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
    const steps = createBroadcastActivities({ pool: stack.h.pool, senders: handSenders() });
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
      [{ topic_key: 'news', template_id: 'launch', channels: ['email'] }, 400], // the template has no e-mail
      [{ topic_key: 'news', template_id: 'launch', channels: ['webhook'] }, 400],
      [{ topic_key: 'news', template_id: 'launch', channels: [] }, 400],
    ] as const) {
      expect((await call('POST', '/v1/broadcasts', { body })).status, JSON.stringify(body)).toBe(status);
    }
  });

  it('sends e-mail (pooled SMTP) and SMS (bulk calls) too, one message per recipient; gone push tokens are removed; a bounced address is skipped', async () => {
    const tenant = await stack.h.newTenant();
    const { call } = tenant;
    const template = {
      id: 'all', channels: {
        email: { subject: 'News for {{name}}', body: '<p>Hello {{name}}</p>' }, sms: { body: 'News, {{name}}' }, push: { title: 'News', body: 'Hi {{name}}' },
      },
    };
    expect((await call('POST', '/v1/notification-templates', { body: template })).status).toBe(201);
    await call('POST', '/v1/topics', { body: { key: 'all', name: 'All' } });
    const users = Array.from({ length: 9 }, (_, i) => `m${i}`);
    await call('POST', '/v1/topics/all/subscribers', { body: { user_ids: users } });
    for (const [i, user] of users.entries()) {
      await call('PUT', `/v1/users/${user}/contacts`, {
        body: {
          email: i === 8 ? null : `${user}.${tenant.id}@example.com`.toLowerCase(), phone: i % 3 === 0 ? null : `+1555000${String(i).padStart(4, '0')}`,
          // m1's only token is gone (the app was uninstalled); m2 has a gone one beside a live one.
          push_tokens: i === 1 ? [`bad_${user}_${tenant.id}`] : i === 2 ? [`bad_${user}_${tenant.id}`, `tok_${user}_${tenant.id}`] : [`tok_${user}_${tenant.id}`],
        },
      });
    }
    await call('PUT', '/v1/users/m4/notification-preferences', { body: { email: false } });
    await stack.h.pool.query(
      `INSERT INTO contact_bounces (tenant_id, channel, address, provider_message_id) VALUES ($1, 'email', $2, 'test')`, [tenant.id, `m5.${tenant.id}@example.com`.toLowerCase()],
    );
    const smsBefore = (await stack.sim.messages('sms')).requests_received;
    const created = await call('POST', '/v1/broadcasts', { body: { topic_key: 'all', template_id: 'all', data: { name: 'Ada' }, channels: ['email', 'sms', 'push'] } });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const done = await finished(call, created.body.id);
    // e-mail: 6 sent (m4 opted out, m5 bounced, m8 none); SMS: 6 sent (m0, m3, m6 none); push: 8 sent, m1 failed.
    expect(done).toMatchObject({ status: 'completed', recipients: 9, counts: { sent: 6 + 6 + 8, failed: 1, skipped_opt_out: 1, skipped_no_contact: 2 + 3 } });

    const emails = stack.smtp.messages().filter((m) => m.to?.includes(tenant.id.toLowerCase()));
    expect(emails.map((m) => m.to).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm6', 'm7'].map((u) => `${u}.${tenant.id}@example.com`.toLowerCase()));
    expect(emails.every((m) => m.subject === 'News for Ada')).toBe(true);
    expect(new Set(emails.map((m) => m.messageId)).size).toBe(6);
    const sms = (await stack.sim.messages('sms')).messages.filter((m) => m.idempotency_key?.startsWith(created.body.id));
    expect(sms.map((m) => m.body)).toEqual(Array(6).fill('News, Ada'));
    // Page size 7: two pages, so two bulk calls for six messages.
    expect((await stack.sim.messages('sms')).requests_received - smsBefore).toBe(2);

    const deliveries = (await call('GET', `/v1/broadcasts/${created.body.id}/deliveries?limit=100`)).body.data as { id: string; status: string; error: string | null }[];
    expect(deliveries.find((d) => d.id === 'm1:push')).toMatchObject({ status: 'failed', error: 'tokens_unregistered' });
    expect(deliveries.find((d) => d.id === 'm2:push')).toMatchObject({ status: 'sent' });
    expect(deliveries.find((d) => d.id === 'm5:email')).toMatchObject({ status: 'skipped_no_contact' });
    const tokens = async (user: string) => (await call('GET', `/v1/users/${user}/contacts`)).body.push_tokens;
    expect(await tokens('m1')).toEqual([]);
    expect(await tokens('m2')).toEqual([`tok_m2_${tenant.id}`]);
  });

  it('a recipient inside their quiet hours is deferred, not counted, and sent once they end (a repeat sends nothing twice)', async () => {
    const { tenant, call } = await audience(3);
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    await call('PUT', '/v1/users/u01/notification-preferences', {
      body: { quiet_hours: { start: hhmm(Date.now() - 3_600_000), end: hhmm(Date.now() + 3_600_000), time_zone: 'UTC' } },
    });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const b = (await call('POST', '/v1/broadcasts', { body: { topic_key: 'news', template_id: 'launch', channels: ['in_app', 'push'], scheduled_at: later } })).body;
    // Driven by hand (the run waits for its hour).
    const steps = createBroadcastActivities({ pool: stack.h.pool, senders: handSenders() });
    const ref = { tenantId: tenant.id, broadcastId: b.id };
    expect(await steps.startBroadcast(ref)).toBe('sending');
    expect(await steps.sendBroadcastPage({ ...ref, pageSize: 10 })).toEqual({ done: true });
    const deferred = (await call('GET', `/v1/broadcasts/${b.id}/deliveries?status=deferred`)).body.data;
    expect(deferred.map((d: { id: string }) => d.id)).toEqual(['u01:in_app', 'u01:push']);
    expect((await call('GET', `/v1/broadcasts/${b.id}`)).body.counts).toEqual({ sent: 4, failed: 0, skipped_opt_out: 0, skipped_no_contact: 0 });
    expect((await call('GET', '/v1/users/u01/inbox')).body.data).toEqual([]);
    // Not due yet: the pass says when.
    const waiting = await steps.sendDeferredBroadcast({ ...ref, pageSize: 10 });
    expect(waiting.done).toBe(false);
    expect(Date.parse(waiting.nextAt!)).toBeGreaterThan(Date.now() + 3_000_000);

    // The hours have passed (moved back rather than waited for): sent, counted, once.
    await call('PUT', '/v1/users/u01/notification-preferences', { body: { quiet_hours: null } });
    await stack.h.pool.query(`UPDATE broadcast_deliveries SET deliver_after = now() - interval '1 second' WHERE broadcast_id = $1 AND status = 'deferred'`, [b.id]);
    const [first, second] = await Promise.all([steps.sendDeferredBroadcast({ ...ref, pageSize: 10 }), steps.sendDeferredBroadcast({ ...ref, pageSize: 10 })]);
    expect([first.done, second.done]).toEqual([false, false]);
    expect(await steps.sendDeferredBroadcast({ ...ref, pageSize: 10 })).toEqual({ done: true, nextAt: null });
    expect(await steps.finishBroadcast(ref)).toBe('completed');
    expect((await call('GET', `/v1/broadcasts/${b.id}`)).body.counts).toEqual({ sent: 6, failed: 0, skipped_opt_out: 0, skipped_no_contact: 0 });
    expect((await call('GET', '/v1/users/u01/inbox')).body.data).toHaveLength(1);
    const pushed = (await stack.sim.messages('push')).messages.filter((m) => m.token === `tok_u01_${tenant.id}`);
    expect(pushed).toHaveLength(1);
  });

  it('renders each recipient in their locale (tag, then language, then the default), once per variant', async () => {
    const tenant = await stack.h.newTenant();
    const { call } = tenant;
    const template = {
      id: 'hello', channels: { in_app: { title: 'Hello', body: 'Hi {{name}}' }, push: { title: 'Hello', body: 'Hi {{name}}' } },
      locales: { fr: { in_app: { title: 'Bonjour', body: 'Salut {{name}}' }, push: { title: 'Bonjour', body: 'Salut {{name}}' } } },
    };
    expect((await call('POST', '/v1/notification-templates', { body: template })).status).toBe(201);
    await call('POST', '/v1/topics', { body: { key: 'hello', name: 'Hello' } });
    await call('POST', '/v1/topics/hello/subscribers', { body: { user_ids: ['l1', 'l2', 'l3'] } });
    const locales = { l1: 'fr-CA', l2: 'de-DE', l3: null };
    for (const [user, locale] of Object.entries(locales)) {
      expect((await call('PUT', `/v1/users/${user}/contacts`, { body: { locale, push_tokens: [`tok_${user}_${tenant.id}`] } })).status).toBe(200);
    }
    const created = await call('POST', '/v1/broadcasts', { body: { topic_key: 'hello', template_id: 'hello', data: { name: 'Ada' }, channels: ['in_app', 'push'] } });
    expect(await finished(call, created.body.id)).toMatchObject({ status: 'completed', counts: { sent: 6 } });
    const titles = async (user: string) => (await call('GET', `/v1/users/${user}/inbox`)).body.data.map((m: { title: string; body: string }) => `${m.title}: ${m.body}`);
    expect([await titles('l1'), await titles('l2'), await titles('l3')]).toEqual([['Bonjour: Salut Ada'], ['Hello: Hi Ada'], ['Hello: Hi Ada']]);
    const pushed = (await stack.sim.messages('push')).messages.filter((m) => m.token.endsWith(tenant.id));
    expect(pushed.map((m) => [m.token.split('_')[1], m.body]).sort()).toEqual([['l1', 'Salut Ada'], ['l2', 'Hi Ada'], ['l3', 'Hi Ada']]);
  });
});
