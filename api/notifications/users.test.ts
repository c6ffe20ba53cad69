import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationInTransaction } from '../../store/notifications/notifications.js';
import { newId } from '../../domain/ids.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';
import { loadConfig } from '../../platform/config.js';
import { createInboxListener, streamLimitsOf, type InboxListener } from './inbox-listener.js';

let h: Harness;
let listener: InboxListener;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  listener = createInboxListener({ connectionString: h.config.DATABASE_URL, heartbeatMs: 300, idleCloseMs: 200 });
  app = createApp({ config: h.config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal, inboxListener: listener, rateLimiter: h.rateLimiter });
});
afterAll(async () => {
  await listener?.close();
  await h?.close();
});

const rowCounts = async (tenantId: string) => (await h.pool.query(
  `SELECT (SELECT count(*) FROM user_contacts WHERE tenant_id = $1)::int AS contacts,
          (SELECT count(*) FROM notification_preferences WHERE tenant_id = $1)::int AS preferences`,
  [tenantId],
)).rows[0];

describe('contacts', () => {
  it('PUT replaces, GET reads back (empty before), per tenant', async () => {
    const { call } = await h.newTenant();
    const other = await h.newTenant();
    expect((await call('GET', '/v1/users/emp_1/contacts')).body).toEqual({
      object: 'user_contacts', user_id: 'emp_1', email: null, phone: null, push_tokens: [], locale: null, updated_at: null,
    });
    const put = await call('PUT', '/v1/users/emp_1/contacts', { body: { email: 'ada@example.com', phone: '+14155550123', push_tokens: ['tok-a', 'tok-b'] } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ email: 'ada@example.com', phone: '+14155550123', push_tokens: ['tok-a', 'tok-b'], updated_at: expect.any(String) });
    expect((await call('GET', '/v1/users/emp_1/contacts')).body).toEqual(put.body);
    expect((await call('PUT', '/v1/users/emp_1/contacts', { body: { phone: '+33612345678' } })).body)
      .toMatchObject({ email: null, phone: '+33612345678', push_tokens: [] });
    expect((await other.call('GET', '/v1/users/emp_1/contacts')).body.phone).toBeNull();
  });

  it('refuses bad contacts and writes nothing', async () => {
    const { id, call } = await h.newTenant();
    const cases: [unknown, string, string][] = [
      [{ email: 'not-an-email' }, 'parameter_invalid', 'email'],
      [{ phone: '0612345678' }, 'parameter_invalid', 'phone'],
      [{ phone: '+0123' }, 'parameter_invalid', 'phone'],
      [{ phone: '+1234567890123456' }, 'parameter_invalid', 'phone'],
      [{ push_tokens: ['a', 'a'] }, 'parameter_invalid', 'push_tokens'],
      [{ push_tokens: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'parameter_invalid', 'push_tokens'],
      [{ push_tokens: [''] }, 'parameter_invalid', 'push_tokens[0]'],
      [{ push_tokens: 'tok' }, 'parameter_invalid', 'push_tokens'],
      [{ fax: '+14155550123' }, 'parameter_unknown', 'fax'],
    ];
    for (const [body, code, param] of cases) {
      const res = await call('PUT', '/v1/users/u1/contacts', { body });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(body)).toEqual([400, code, param]);
    }
    expect((await call('PUT', '/v1/users/u1/contacts', { raw: 'email=x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await call('PUT', `/v1/users/${'u'.repeat(256)}/contacts`, { body: {} })).body.error).toMatchObject({ code: 'parameter_invalid', param: 'user_id' });
    expect(await rowCounts(id)).toEqual({ contacts: 0, preferences: 0 });
  });
});

describe('notification preferences', () => {
  it('defaults, then partial PUTs: given fields change, others stay; null restores the default', async () => {
    const { call } = await h.newTenant();
    expect((await call('GET', '/v1/users/u1/notification-preferences')).body).toEqual({
      object: 'notification_preferences', user_id: 'u1', email: true, sms: true, push: true, in_app: true, quiet_hours: null, digest: null,
      updated_at: null,
    });
    const quiet = { start: '22:00', end: '07:30', time_zone: 'America/New_York' };
    await call('PUT', '/v1/users/u1/notification-preferences', { body: { sms: false, quiet_hours: quiet } });
    const res = await call('PUT', '/v1/users/u1/notification-preferences', { body: { push: false } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ email: true, sms: false, push: false, in_app: true, quiet_hours: quiet });
    expect((await call('GET', '/v1/users/u1/notification-preferences')).body).toEqual(res.body);
    expect((await call('PUT', '/v1/users/u1/notification-preferences', { body: { sms: null, quiet_hours: null } })).body)
      .toMatchObject({ sms: true, push: false, quiet_hours: null });
  });

  it('validates quiet hours (HH:MM, IANA zone) and writes nothing on a bad request', async () => {
    const { id, call } = await h.newTenant();
    const cases: [unknown, string, string][] = [
      [{ quiet_hours: { start: '24:00', end: '07:00', time_zone: 'UTC' } }, 'parameter_invalid', 'quiet_hours[start]'],
      [{ quiet_hours: { start: '22:00', end: '7:00', time_zone: 'UTC' } }, 'parameter_invalid', 'quiet_hours[end]'],
      [{ quiet_hours: { start: '22:00', end: '07:00', time_zone: 'Mars/Olympus' } }, 'parameter_invalid', 'quiet_hours[time_zone]'],
      [{ quiet_hours: { start: '22:00', end: '07:00', time_zone: '+01:00' } }, 'parameter_invalid', 'quiet_hours[time_zone]'],
      [{ quiet_hours: { start: '22:00', end: '07:00' } }, 'parameter_missing', 'quiet_hours[time_zone]'],
      [{ quiet_hours: { start: '22:00', end: '07:00', time_zone: 'UTC', days: [] } }, 'parameter_unknown', 'quiet_hours[days]'],
      [{ email: 'yes' }, 'parameter_invalid', 'email'],
      [{ webhook: false }, 'parameter_unknown', 'webhook'],
    ];
    for (const [body, code, param] of cases) {
      const res = await call('PUT', '/v1/users/u1/notification-preferences', { body });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(body)).toEqual([400, code, param]);
    }
    expect(await rowCounts(id)).toEqual({ contacts: 0, preferences: 0 });
  });
});

/** A notification and its in-app message, written the way the worker would (SQL; the trigger NOTIFYs). */
async function inboxMessage(tenantId: string, userId: string, title: string): Promise<string> {
  const { notification } = await createNotificationInTransaction(h.pool, {
    tenantId, userId, templateId: 'transfer.received', data: {}, channels: ['in_app'], priority: 'normal', critical: false, scheduledAt: null,
  });
  const id = newId('inboxMessage');
  await h.pool.query(
    'INSERT INTO inbox_messages (id, tenant_id, user_id, notification_id, title, body) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, tenantId, userId, notification.id, title, `${title} body`],
  );
  return id;
}

describe('inbox', () => {
  it('lists newest first with pages and unread=true; read is idempotent; other users and tenants get 404', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const other = await h.newTenant();
    const ids = [await inboxMessage(tenantId, 'u1', 'one'), await inboxMessage(tenantId, 'u1', 'two'), await inboxMessage(tenantId, 'u1', 'three')];
    await inboxMessage(tenantId, 'u2', 'not yours');

    const page = await call('GET', '/v1/users/u1/inbox?limit=2');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ object: 'list', has_more: true });
    expect(page.body.data.map((m: { title: string }) => m.title)).toEqual(['three', 'two']);
    expect(page.body.data[0]).toEqual({
      id: ids[2], object: 'inbox_message', title: 'three', body: 'three body', notification_id: expect.stringMatching(/^ntf_/), broadcast_id: null,
      created_at: expect.any(String), read_at: null,
    });
    expect((await call('GET', `/v1/users/u1/inbox?starting_after=${ids[1]}`)).body.data.map((m: { id: string }) => m.id)).toEqual([ids[0]]);

    const read = await call('POST', `/v1/users/u1/inbox/${ids[1]}/read`);
    expect(read.status).toBe(200);
    expect(read.body.read_at).toEqual(expect.any(String));
    expect((await call('POST', `/v1/users/u1/inbox/${ids[1]}/read`)).body.read_at).toBe(read.body.read_at);
    expect((await call('GET', '/v1/users/u1/inbox?unread=true')).body.data.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[0]]);

    expect((await call('POST', `/v1/users/u2/inbox/${ids[0]}/read`)).body.error).toMatchObject({ code: 'resource_missing', param: 'message_id' });
    expect((await other.call('POST', `/v1/users/u1/inbox/${ids[0]}/read`)).status).toBe(404);
    expect((await other.call('GET', '/v1/users/u1/inbox')).body.data).toEqual([]);
    expect((await call('GET', '/v1/users/u1/inbox?unread=yes')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'unread' });
    expect((await call('GET', '/v1/users/u1/inbox?limit=101')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'limit' });
  });
});

interface SseEvent { event?: string; id?: string; data?: string; comment?: string; retry?: string }

/** Opens the SSE stream in process and reads it event by event. */
async function openStream(apiKey: string, userId: string, headers: Record<string, string> = {}) {
  const res = await app.request(`/v1/users/${userId}/inbox/stream`, { headers: { authorization: `Bearer ${apiKey}`, ...headers } });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  async function next(timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) event.comment = line.slice(1).trim();
          else {
            const [field, ...rest] = line.split(': ');
            (event as Record<string, string>)[field!] = rest.join(': ');
          }
        }
        return event;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE event within ${timeoutMs} ms (buffer: ${JSON.stringify(buffer)})`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no SSE data within ${timeoutMs} ms`)), left); }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error('the stream ended');
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  }
  /** The next `message` event (heartbeats and the retry hint are skipped). */
  async function nextMessage(timeoutMs?: number): Promise<SseEvent & { json: Record<string, unknown> }> {
    for (;;) {
      const event = await next(timeoutMs);
      if (event.event === 'message') return { ...event, json: JSON.parse(event.data!) as Record<string, unknown> };
    }
  }
  return { res, next, nextMessage, close: () => reader.cancel() };
}

describe('inbox stream (SSE)', () => {
  it('pushes each new message of the user, only theirs, with heartbeats; closing unsubscribes', async () => {
    const tenant = await h.newTenant();
    const other = await h.newTenant();
    const stream = await openStream(tenant.apiKey, 'u1');
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await expect.poll(() => listener.connected, { timeout: 10_000 }).toBe(true);

    await inboxMessage(tenant.id, 'u2', 'for someone else');
    await inboxMessage(other.id, 'u1', 'same user id, other tenant');
    const id = await inboxMessage(tenant.id, 'u1', 'hello');
    const message = await stream.nextMessage();
    expect(message.id).toBe(id);
    expect(message.json).toEqual({
      id, object: 'inbox_message', title: 'hello', body: 'hello body', notification_id: expect.stringMatching(/^ntf_/), broadcast_id: null,
      created_at: expect.any(String), read_at: null,
    });
    const second = await inboxMessage(tenant.id, 'u1', 'again');
    expect((await stream.nextMessage()).id).toBe(second);

    let event: SseEvent;
    do event = await stream.next(5_000); while (event.comment !== 'heartbeat');

    const before = listener.size;
    await stream.close();
    await expect.poll(() => listener.size, { timeout: 5_000 }).toBe(before - 1);
  });

  it('with Last-Event-ID, first replays what came after it, then streams new ones', async () => {
    const tenant = await h.newTenant();
    const first = await inboxMessage(tenant.id, 'u1', 'm1');
    const m2 = await inboxMessage(tenant.id, 'u1', 'm2');
    const m3 = await inboxMessage(tenant.id, 'u1', 'm3');
    const stream = await openStream(tenant.apiKey, 'u1', { 'Last-Event-ID': first });
    expect((await stream.nextMessage()).id).toBe(m2);
    expect((await stream.nextMessage()).id).toBe(m3);
    await expect.poll(() => listener.connected, { timeout: 10_000 }).toBe(true);
    const m4 = await inboxMessage(tenant.id, 'u1', 'm4');
    expect((await stream.nextMessage()).id).toBe(m4);
    await stream.close();
  });

  it('refuses a bad Last-Event-ID, an admin key and another route’s key before streaming', async () => {
    const tenant = await h.newTenant();
    const bad = await app.request('/v1/users/u1/inbox/stream', { headers: { authorization: `Bearer ${tenant.apiKey}`, 'last-event-id': 'nope' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({ code: 'parameter_invalid', param: 'last-event-id' });
    expect((await app.request('/v1/users/u1/inbox/stream', { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(403);
    expect((await app.request('/v1/users/u1/inbox/stream')).status).toBe(401);
  });

  it('caps the open streams per user (429), and frees the slot on close', async () => {
    const tenant = await h.newTenant();
    const small = createInboxListener({ connectionString: h.config.DATABASE_URL, subscribersPerUserMax: 1 });
    const capped = createApp({ config: h.config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal, inboxListener: small, rateLimiter: h.rateLimiter });
    try {
      const headers = { authorization: `Bearer ${tenant.apiKey}` };
      const open = await capped.request('/v1/users/u1/inbox/stream', { headers });
      expect(open.status).toBe(200);
      const refused = await capped.request('/v1/users/u1/inbox/stream', { headers });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as any).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
      expect((await capped.request('/v1/users/u2/inbox/stream', { headers })).status).toBe(200);
      await open.body!.cancel();
      await expect.poll(() => small.size, { timeout: 5_000 }).toBe(1);
      expect((await capped.request('/v1/users/u1/inbox/stream', { headers })).status).toBe(200);
    } finally {
      await small.close();
    }
    expect(small.size).toBe(0);
  });

  it('caps the open streams per tenant (default: half the process total), so another tenant still gets one', async () => {
    const [a, b] = [await h.newTenant(), await h.newTenant()];
    const small = createInboxListener({ connectionString: h.config.DATABASE_URL, ...streamLimitsOf({ ...h.config, SSE_STREAMS_MAX: 4 }) });
    const capped = createApp({ config: h.config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal, inboxListener: small, rateLimiter: h.rateLimiter });
    const open = (tenant: { apiKey: string }, user: string) =>
      capped.request(`/v1/users/${user}/inbox/stream`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    try {
      const mine = [await open(a, 'u1'), await open(a, 'u2')]; // other users: the per-user cap is not what refuses
      expect(mine.map((r) => r.status)).toEqual([200, 200]);
      const refused = await open(a, 'u3');
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '10']);
      expect(((await refused.json()) as any).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
      const theirs = await open(b, 'u1');
      expect(theirs.status).toBe(200);
      await mine[0]!.body!.cancel();
      await expect.poll(() => small.size, { timeout: 5_000 }).toBe(2);
      const again = await open(a, 'u3');
      expect(again.status).toBe(200);
      for (const res of [mine[1]!, theirs, again]) await res.body!.cancel();
    } finally {
      await small.close();
    }
  });

  it('SSE_STREAMS_MAX_PER_TENANT defaults to half of SSE_STREAMS_MAX; set, it is kept within the total', () => {
    expect(streamLimitsOf(loadConfig({ SSE_STREAMS_MAX: '10' }))).toEqual({ subscribersMax: 10, subscribersPerTenantMax: undefined, subscribersPerUserMax: 10 });
    expect(streamLimitsOf(loadConfig({ SSE_STREAMS_MAX: '10', SSE_STREAMS_MAX_PER_TENANT: '3', SSE_STREAMS_MAX_PER_USER: '2' })))
      .toEqual({ subscribersMax: 10, subscribersPerTenantMax: 3, subscribersPerUserMax: 2 });
    expect(() => loadConfig({ SSE_STREAMS_MAX_PER_TENANT: '0' })).toThrow(/SSE_STREAMS_MAX_PER_TENANT/);
  });
});
