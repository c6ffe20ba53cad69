import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { createAccount, startHarness, tenantRowCounts, type Harness } from '../../test/harness.js';
import type { AppEnv } from '../context.js';
import { onError } from './errors.js';
import { idempotency } from './idempotency.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '30000', IDEMPOTENCY_IN_FLIGHT_WAIT_MS: '30000' } });
});
afterAll(async () => {
  await h?.close();
});

describe('Idempotency-Key', () => {
  it('50 concurrent identical POSTs: one transfer, one ledger transaction, identical answers', async () => {
    const tenant = await h.newTenant();
    const from = await createAccount(tenant.call, { fundMinor: 10_000 });
    const to = await createAccount(tenant.call);
    const body = { from_account_id: from, to_account_id: to, amount: 2_500, currency: 'USD' };
    const before = await tenantRowCounts(h.pool, tenant.id);

    const results = await Promise.all(
      Array.from({ length: 50 }, () => tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'pay-rent-march' })),
    );
    expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(results[0]!.body.status).toBe('succeeded');
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(49);

    const after = await tenantRowCounts(h.pool, tenant.id);
    expect(after.transfers - before.transfers).toBe(1);
    expect(after.ledger_transactions - before.ledger_transactions).toBe(1);
    expect((await tenant.call('GET', `/v1/accounts/${from}`)).body.balance).toBe(7_500);

    const reused = await tenant.call('POST', '/v1/transfers', {
      body: { ...body, amount: 2_501 }, idempotencyKey: 'pay-rent-march',
    });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused' });
    const otherPath = await tenant.call('POST', '/v1/accounts', {
      body: { type: 'user', currency: 'USD' }, idempotencyKey: 'pay-rent-march',
    });
    expect(otherPath.status).toBe(422);
    expect((await tenantRowCounts(h.pool, tenant.id)).transfers).toBe(after.transfers);
  });

  it('replays from PostgreSQL when the Redis fast path has lost the record', async () => {
    const tenant = await h.newTenant();
    const first = await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'EUR' }, idempotencyKey: 'acct-1' });
    await h.redis.del(`idem:${tenant.id}:acct-1`);
    const again = await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'EUR' }, idempotencyKey: 'acct-1' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // A replay is a request of its own: it has its own Request-Id (and the security headers).
    expect(again.headers.get('request-id')).toMatch(/.+/);
    expect(again.headers.get('request-id')).not.toBe(first.headers.get('request-id'));
    expect(again.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await tenantRowCounts(h.pool, tenant.id)).accounts).toBe(1);
  });

  it('keys are scoped to the tenant', async () => {
    const a = await h.newTenant();
    const b = await h.newTenant();
    const ra = await a.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' }, idempotencyKey: 'same' });
    const rb = await b.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' }, idempotencyKey: 'same' });
    expect(ra.status).toBe(201);
    expect(rb.status).toBe(201);
    expect(rb.headers.get('idempotent-replayed')).toBeNull();
    expect(rb.body.id).not.toBe(ra.body.id);
  });

  it('a rejected request keeps no record: the corrected request with the same key runs', async () => {
    const tenant = await h.newTenant();
    const bad = await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'usd' }, idempotencyKey: 'k' });
    expect(bad.status).toBe(400);
    const good = await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' }, idempotencyKey: 'k' });
    expect(good.status).toBe(201);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
  });

  it('rejects a key longer than 255 characters', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('POST', '/v1/accounts', { body: { type: 'user', currency: 'USD' }, idempotencyKey: 'x'.repeat(256) });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'Idempotency-Key' });
    expect((await tenantRowCounts(h.pool, tenant.id)).accounts).toBe(0);
  });

  it('answers 409 idempotency_key_in_use while the first request still runs', async () => {
    const busy = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '3000', IDEMPOTENCY_IN_FLIGHT_WAIT_MS: '0' } });
    try {
      const tenant = await busy.newTenant();
      const from = await createAccount(tenant.call);
      const to = await createAccount(tenant.call);
      const body = { from_account_id: from, to_account_id: to, amount: 1, currency: 'USD' };
      // No worker polls this queue: the first request waits out its whole window.
      const first = tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'slow' });
      await expect.poll(async () => (await tenantRowCounts(busy.pool, tenant.id)).transfers).toBe(1);
      const second = await tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'slow' });
      expect(second.status).toBe(409);
      expect(second.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_in_use' });
      expect((await first).status).toBe(202);
      const third = await tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'slow' });
      expect(third.status).toBe(202);
      expect(third.headers.get('idempotent-replayed')).toBe('true');
      expect((await tenantRowCounts(busy.pool, tenant.id)).transfers).toBe(1);
      // Let a worker finish the transfer (it fails: no funds) so the run leaves nothing pending.
      await busy.startWorker();
      await expect.poll(async () => (await tenant.call('GET', `/v1/transfers/${third.body.id}`)).body.status, { timeout: 20_000 })
        .toBe('failed');
    } finally {
      await busy.close();
    }
  });
});

describe('Idempotency-Key: an attempt taken over while it still ran', () => {
  it('cannot overwrite the answer of the attempt that took over: every client of the key gets that one answer', async () => {
    const scope = `tnt_takeover_${Date.now()}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const app = new Hono<AppEnv>();
    app.onError(onError);
    app.use('*', async (c, next) => {
      c.set('auth', { kind: 'tenant', scope, tenantId: scope, apiKeyId: 'key_test' });
      await next();
    });
    app.use('*', idempotency({ pool: h.pool, redis: h.redis, retentionHours: 1, inFlightWaitMs: 50, lockTimeoutMs: 200 }));
    app.post('/things', async (c) => {
      const n = ++calls;
      if (n === 1) await gate; // the first attempt is stuck (a failover, a lock) past the lock timeout
      return c.json({ attempt: n }, n === 1 ? 201 : 202);
    });
    const post = () => app.request('/things', { method: 'POST', headers: { 'idempotency-key': 'k1', 'content-type': 'application/json' }, body: '{}' });

    const first = post();
    await new Promise((r) => setTimeout(r, 400)); // its lock is stale now
    const second = await post(); // takes the record over and answers
    expect(second.status).toBe(202);
    expect(await second.json()).toEqual({ attempt: 2 });
    release();
    const late = await first; // the first attempt ends: it must not store (or give) a second answer
    expect(late.status).toBe(202);
    expect(await late.json()).toEqual({ attempt: 2 });
    expect(late.headers.get('idempotent-replayed')).toBe('true');
    const { rows } = await h.pool.query('SELECT status, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2', [scope, 'k1']);
    expect(rows[0]).toMatchObject({ status: 'done', response_status: 202 });
    expect(JSON.parse(rows[0].response_body)).toEqual({ attempt: 2 });
    const replayed = await post();
    expect(replayed.status).toBe(202);
    expect(await replayed.json()).toEqual({ attempt: 2 });
    expect(calls).toBe(2);
  });
});
