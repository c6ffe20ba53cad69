import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../api/app.js';
import type { Channel } from '../../domain/notifications/types.js';
import { createCacheFromConfig, type Cache, type CacheEvent } from '../../platform/cache/index.js';
import type { Config } from '../../platform/config.js';
import { metricsRegistry } from '../../platform/metrics.js';
import { createNotificationInTransaction } from '../../store/notifications/notifications.js';
import { ADMIN_KEY, type Call, type Harness } from '../../test/harness.js';
import { byChannel, settled, startNotificationStack, type Notification, type NotificationStack } from '../../test/notifications.js';
import type { ChannelSenders, SmsMessage } from './channels/types.js';
import { createDeliveryActivities } from './delivery-activities.js';

/**
 * Preferences are read through the cache (kind `notification_preferences`) by the plan step and
 * every attempt, and each write through the API invalidates them on every instance. Each test first
 * shows that the reader really holds a cached copy (a write that bypasses the API is not seen), then
 * that an opt-out through the API is honoured by the next send: without the invalidation, it fails.
 */

let stack: NotificationStack;
let h: Harness;
let call: Call;
let tenant: { id: string; apiKey: string; call: Call };
const SMS_TEMPLATE = { id: 'prefs_cached', channels: { sms: { body: 'Code {{code}}' }, in_app: { title: 'Hi', body: 'Code {{code}}' } } };

beforeAll(async () => {
  stack = await startNotificationStack();
  h = stack.h;
  tenant = await h.newTenant('Cached preferences');
  call = tenant.call;
  expect((await call('POST', '/v1/notification-templates', { body: SMS_TEMPLATE })).status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
});

const newPhone = () => `+1555${String(Math.floor(Math.random() * 10_000_000)).padStart(7, '0')}`;
/** User ids are the tenant's own (any text): one that is no cache key part, so the key is its digest. */
const newUserId = () => `émile:${randomUUID()}`;
const userPath = (userId: string) => `/v1/users/${encodeURIComponent(userId)}`;

/** Writes behind the API's back: no invalidation (what a cached copy hides until its TTL). */
async function optOutBehindTheApi(tenantId: string, userId: string, channel: Channel): Promise<void> {
  await h.pool.query(
    `INSERT INTO notification_preferences (tenant_id, user_id, ${channel}) VALUES ($1, $2, false)
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET ${channel} = false`,
    [tenantId, userId],
  );
}

/** Cache hits (either tier) of the process's caches for this kind. */
async function cacheHits(): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('steadfast_cache_requests_total')!.get();
  return metric.values
    .filter((v) => v.labels.cache === 'notification_preferences' && v.labels.result === 'hit')
    .reduce((sum, v) => sum + v.value, 0);
}

describe('two instances: the API (A) writes, the worker (B) plans and attempts', () => {
  async function send(userId: string, channels: Channel[] = ['sms']): Promise<Notification> {
    const res = await call('POST', '/v1/notifications', {
      body: { user_id: userId, template_id: SMS_TEMPLATE.id, data: { code: '42' }, channels, priority: 'high' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return settled(call, res.body.id as string);
  }
  const smsTo = async (phone: string) => (await stack.sim.messages('sms')).messages.filter((m) => m.to === phone).length;

  it('an opt-out through the API is honoured by the next send; opting in again too', async () => {
    const userId = newUserId();
    const phone = newPhone();
    expect((await call('PUT', `${userPath(userId)}/contacts`, { body: { phone } })).status).toBe(200);
    const hitsBefore = await cacheHits();

    expect(byChannel(await send(userId)).sms?.status).toBe('sent');
    // The worker read the preferences at the plan and again at the attempt: the second was a hit.
    expect(await cacheHits()).toBeGreaterThan(hitsBefore);
    // B holds the preferences: a write that bypasses the API is not seen (the cached opt-in is sent to).
    await optOutBehindTheApi(tenant.id, userId, 'sms');
    expect(byChannel(await send(userId)).sms?.status).toBe('sent');
    expect(await smsTo(phone)).toBe(2);

    const put = await call('PUT', `${userPath(userId)}/notification-preferences`, { body: { sms: false } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ user_id: userId, sms: false, email: true });
    const optedOut = await send(userId, ['sms', 'in_app']);
    expect(byChannel(optedOut).sms).toMatchObject({ status: 'skipped_opt_out', attempts: 0 });
    expect(byChannel(optedOut).in_app?.status).toBe('sent');
    expect(await smsTo(phone)).toBe(2);

    expect((await call('PUT', `${userPath(userId)}/notification-preferences`, { body: { sms: null } })).status).toBe(200);
    expect(byChannel(await send(userId)).sms?.status).toBe('sent');
    expect(await smsTo(phone)).toBe(3);
  });

  it('quiet hours set through the API defer the next normal notification; a critical one ignores them', async () => {
    const userId = newUserId();
    const phone = newPhone();
    expect((await call('PUT', `${userPath(userId)}/contacts`, { body: { phone } })).status).toBe(200);
    expect(byChannel(await send(userId)).sms?.status).toBe('sent'); // cached: no quiet hours
    // Quiet from an hour ago to an hour from now, in UTC.
    const hour = (offset: number) => `${String((new Date().getUTCHours() + 24 + offset) % 24).padStart(2, '0')}:00`;
    const quiet = { start: hour(-1), end: hour(1), time_zone: 'UTC' };
    expect((await call('PUT', `${userPath(userId)}/notification-preferences`, { body: { quiet_hours: quiet } })).status).toBe(200);

    const res = await call('POST', '/v1/notifications', {
      body: { user_id: userId, template_id: SMS_TEMPLATE.id, data: { code: '1' }, channels: ['sms'], priority: 'normal' },
    });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await call('GET', `/v1/notifications/${res.body.id}`)).body.status, { timeout: 10_000 }).toBe('deferred');
    const critical = await call('POST', '/v1/notifications', {
      body: { user_id: userId, template_id: SMS_TEMPLATE.id, data: { code: '2' }, channels: ['sms'], priority: 'high', critical: true },
    });
    expect(byChannel(await settled(call, critical.body.id as string)).sms?.status).toBe('sent');
    expect((await call('POST', `/v1/notifications/${res.body.id}/cancel`)).status).toBe(200);
    expect(await smsTo(phone)).toBe(2);
  });
});

/** An SMS sender that records what it was asked to send. */
function recordingSenders(): { senders: ChannelSenders; sent: SmsMessage[] } {
  const sent: SmsMessage[] = [];
  const sms = {
    async send(message: SmsMessage) {
      sent.push(message);
      return { providerMessageId: `sm_${sent.length}` };
    },
  };
  return { senders: { sms } as unknown as ChannelSenders, sent };
}

/** A notification through the activities alone (no workflow): the plan, then attempt 1 of its SMS unless skipped. */
function directSends(activities: ReturnType<typeof createDeliveryActivities>, tenantId: string) {
  return {
    async plan(userId: string) {
      const { notification } = await createNotificationInTransaction(h.pool, {
        tenantId, userId, templateId: SMS_TEMPLATE.id, data: { code: '7' }, channels: ['sms'], priority: 'high', critical: false, scheduledAt: null,
      });
      return activities.planNotification({ tenantId, notificationId: notification.id, critical: false });
    },
    attempt: (deliveryId: string) => activities.attemptDelivery({ tenantId, deliveryId, attempt: 1 }),
    status: async (deliveryId: string) => (await h.pool.query('SELECT status FROM deliveries WHERE id = $1', [deliveryId])).rows[0].status as string,
  };
}

describe('single-instance mode (no Redis): two caches of one process', () => {
  let config: Config;
  let apiCache: Cache;
  let workerCache: Cache;
  let app: ReturnType<typeof createApp>;
  beforeAll(() => {
    config = { ...h.config, REDIS_URL: undefined, REDIS_MODE: 'none', CACHE_KEY_PREFIX: `test:prefs:${randomUUID()}` };
    apiCache = createCacheFromConfig(null, config, () => undefined);
    workerCache = createCacheFromConfig(null, config, () => undefined);
    app = createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: null, temporal: h.temporal, cache: apiCache });
  });
  afterAll(() => {
    apiCache?.close();
    workerCache?.close();
  });

  it('the plan and the attempt of the worker’s cache honour an opt-out made through the API’s', async () => {
    const { senders, sent } = recordingSenders();
    const direct = directSends(createDeliveryActivities({ pool: h.pool, senders, cache: workerCache }), tenant.id);
    const userId = newUserId();
    const putApi = (path: string, body: unknown) => app.request(path, {
      method: 'PUT', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect((await putApi(`${userPath(userId)}/contacts`, { phone: newPhone() })).status).toBe(200);

    const first = await direct.plan(userId);
    expect(await direct.attempt(first.deliveries[0]!.deliveryId)).toEqual({ status: 'sent' });
    expect(workerCache.l1Size).toBe(1);
    // Cached: an opt-out written behind the API's back is not seen by the next plan.
    await optOutBehindTheApi(tenant.id, userId, 'sms');
    const waiting = (await direct.plan(userId)).deliveries[0]!.deliveryId;
    expect(await direct.status(waiting)).toBe('queued');

    expect((await putApi(`${userPath(userId)}/notification-preferences`, { sms: false })).status).toBe(200);
    expect(workerCache.l1Size).toBe(0); // in process: at once
    // The delivery planned before the opt-out is skipped at its attempt; the next plan skips at once.
    expect(await direct.attempt(waiting)).toEqual({ status: 'failed', error: 'opted out' });
    expect(await direct.status(waiting)).toBe('skipped_opt_out');
    expect((await direct.plan(userId)).deliveries).toEqual([]);
    expect(sent).toHaveLength(1);
  });
});

/**
 * A TCP proxy to the run's Redis that can be cut: the cache behind it sees Redis go down (its
 * command connection and its subscriber both lose their server) without touching the shared one.
 */
async function redisProxy(target: URL): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

describe.skipIf(!inject('redisUrl'))('Redis down: preferences are read from PostgreSQL', () => {
  it('a cache that held the preferences, cut from Redis, reads through: an opt-out is honoured at once', async () => {
    const proxy = await redisProxy(new URL(inject('redisUrl')));
    const redis = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 1, commandTimeout: 500 });
    redis.on('error', () => undefined); // reconnect attempts while cut: expected here
    const events: CacheEvent[] = [];
    const cache = createCacheFromConfig(redis, { ...h.config, CACHE_KEY_PREFIX: `test:prefs:${randomUUID()}` }, (e) => events.push(e));
    try {
      await cache.whenBusUp();
      const { senders, sent } = recordingSenders();
      const direct = directSends(createDeliveryActivities({ pool: h.pool, senders, cache }), tenant.id);
      const userId = newUserId();
      expect((await call('PUT', `${userPath(userId)}/contacts`, { body: { phone: newPhone() } })).status).toBe(200);
      expect((await direct.plan(userId)).deliveries).toHaveLength(1); // cached in L1 and L2
      await optOutBehindTheApi(tenant.id, userId, 'sms');
      expect((await direct.plan(userId)).deliveries).toHaveLength(1); // still the cached copy

      await proxy.cut();
      await expect.poll(() => cache.busUp, { timeout: 5_000 }).toBe(false);
      // L1 is not trusted without the bus, L2 cannot be read: PostgreSQL answers, with the opt-out.
      expect((await direct.plan(userId)).deliveries).toEqual([]);
      expect(events.some((e) => e.type === 'l2_error')).toBe(true);
      expect(sent).toHaveLength(0);

      // An API instance whose cache cannot invalidate answers 500: the write stands, a retry is safe.
      const app = createApp({
        config: h.config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal, rateLimiter: h.rateLimiter, cache,
      });
      const put = await app.request(`${userPath(userId)}/notification-preferences`, {
        method: 'PUT', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ push: false }),
      });
      expect(put.status).toBe(500);
      expect((await call('GET', `${userPath(userId)}/notification-preferences`)).body).toMatchObject({ sms: false, push: false });
    } finally {
      cache.close();
      redis.disconnect();
      await proxy.cut();
    }
  });
});
