import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, tenantRowCounts, type Harness } from '../../test/harness.js';

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
