import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

const subscriberRows = async (tenantId: string) =>
  (await h.pool.query('SELECT count(*)::int AS n FROM topic_subscribers WHERE tenant_id = $1', [tenantId])).rows[0].n as number;

describe('topics (contract §10)', () => {
  it('creates a topic, subscribes users in bulk idempotently, lists them by user id and unsubscribes one', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const created = await call('POST', '/v1/topics', { body: { key: 'product-news', name: 'Product news' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'topic', key: 'product-news', name: 'Product news', subscribers_count: 0 });
    expect((await call('POST', '/v1/topics', { body: { key: 'product-news', name: 'Again' } })).body.error.code).toBe('resource_exists');

    const users = Array.from({ length: 1_000 }, (_, i) => `user_${String(i).padStart(4, '0')}`);
    const first = await call('POST', '/v1/topics/product-news/subscribers', { body: { user_ids: users } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ subscribers_count: 1_000, added: 1_000 });
    const again = await call('POST', '/v1/topics/product-news/subscribers', { body: { user_ids: ['user_0001', 'user_0001', 'user_new'] } });
    expect(again.body).toMatchObject({ subscribers_count: 1_001, added: 1 });

    const page = await call('GET', '/v1/topics/product-news/subscribers?limit=3&starting_after=user_0997');
    expect(page.body.data.map((s: { user_id: string }) => s.user_id)).toEqual(['user_0998', 'user_0999', 'user_new']);
    expect(page.body.has_more).toBe(false);

    const removed = await call('DELETE', '/v1/topics/product-news/subscribers/user_0998');
    expect(removed.body).toEqual({ object: 'topic_subscription', topic_key: 'product-news', user_id: 'user_0998', deleted: true });
    expect((await call('DELETE', '/v1/topics/product-news/subscribers/user_0998')).status).toBe(404);
    expect((await call('GET', '/v1/topics/product-news')).body.subscribers_count).toBe(1_000);
    expect(await subscriberRows(tenantId)).toBe(1_000);
  });

  it('refuses bad input with the contract error and writes nothing; another tenant’s topic is missing', async () => {
    const { id: tenantId, call } = await h.newTenant();
    await call('POST', '/v1/topics', { body: { key: 'alerts', name: 'Alerts' } });
    const bad = [
      ['/v1/topics', { key: 'has space', name: 'x' }, 400],
      ['/v1/topics', { key: 'ok', name: '' }, 400],
      ['/v1/topics/alerts/subscribers', { user_ids: [] }, 400],
      ['/v1/topics/alerts/subscribers', { user_ids: Array.from({ length: 1_001 }, (_, i) => `u${i}`) }, 400],
      ['/v1/topics/alerts/subscribers', { user_ids: ['u1'], extra: true }, 400],
      ['/v1/topics/nope/subscribers', { user_ids: ['u1'] }, 404],
    ] as const;
    for (const [path, body, status] of bad) {
      const res = await call('POST', path, { body });
      expect(res.status, `${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(status);
    }
    expect(await subscriberRows(tenantId)).toBe(0);
    const other = await h.newTenant();
    expect((await other.call('GET', '/v1/topics/alerts')).status).toBe(404);
    expect((await other.call('POST', '/v1/topics/alerts/subscribers', { body: { user_ids: ['u1'] } })).status).toBe(404);
  });
});
