import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Call, type Harness } from '../../test/harness.js';
import { redactSecrets } from './idempotency.js';

/**
 * Secrets are shown once (contract §0): the first answer carries the secret; the idempotency
 * record (PostgreSQL row and Redis fast path) keeps it redacted, so a replay shows `null`.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

/** The stored record of a key, as PostgreSQL and Redis hold it. */
async function storedRecord(scope: string, key: string): Promise<{ row: string; cached: string | null }> {
  const { rows } = await h.pool.query(`SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2`, [scope, key]);
  expect(rows).toHaveLength(1);
  return { row: JSON.stringify(rows[0]), cached: await h.redis.get(`idem:${scope}:${key}`) };
}

/** POSTs twice with one key: the first answer has the secret at `field`, the replay `null`, the stores neither. */
async function expectShownOnce(call: Call, scope: string, path: string, body: unknown, field: string) {
  const key = randomUUID();
  const first = await call('POST', path, { body, idempotencyKey: key });
  expect(first.status, JSON.stringify(first.body)).toBeGreaterThanOrEqual(200);
  expect(first.status).toBeLessThan(300);
  const secret = first.body[field];
  expect(typeof secret).toBe('string');
  expect(secret.length).toBeGreaterThanOrEqual(16);

  const replay = await call('POST', path, { body, idempotencyKey: key });
  expect(replay.status).toBe(first.status);
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  expect(replay.body).toEqual({ ...first.body, [field]: null });

  const { row, cached } = await storedRecord(scope, key);
  expect(row).not.toContain(secret);
  expect(cached).not.toBeNull();
  expect(cached).not.toContain(secret);
  expect(JSON.parse(JSON.parse(cached!).body)[field]).toBeNull();

  // The replay from PostgreSQL (Redis lost the record) is redacted the same way.
  await h.redis.del(`idem:${scope}:${key}`);
  const fromDb = await call('POST', path, { body, idempotencyKey: key });
  expect(fromDb.body).toEqual(replay.body);
  return first.body;
}

describe('secrets in idempotent responses', () => {
  it('a tenant’s API key (admin): shown once, stored redacted, and it works', async () => {
    const created = await expectShownOnce(h.admin, 'admin', '/v1/admin/tenants', { name: 'Shown once' }, 'api_key');
    const asTenant = h.as(created.api_key as string);
    expect((await asTenant('GET', '/v1/payments')).status).toBe(200);
  });

  it('a webhook endpoint’s signing secret', async () => {
    const tenant = await h.newTenant();
    await expectShownOnce(tenant.call, tenant.id, '/v1/webhook-endpoints', { url: 'https://8.8.8.8/hooks', events: ['*'] }, 'secret');
  });

  it('the other secret-bearing answers: a new API key, an actor signing key, a rotated webhook secret', async () => {
    const tenant = await h.newTenant();
    await expectShownOnce(h.admin, 'admin', `/v1/admin/tenants/${tenant.id}/api-keys`, undefined, 'key');
    await expectShownOnce(tenant.call, tenant.id, '/v1/actor-signing-keys', undefined, 'secret');
    const endpoint = await tenant.call('POST', '/v1/webhook-endpoints', { body: { url: 'https://8.8.8.8/hooks', events: ['*'] } });
    await expectShownOnce(tenant.call, tenant.id, `/v1/webhook-endpoints/${endpoint.body.id}/rotate-secret`, {}, 'secret');
  });
});

describe('redactSecrets', () => {
  it('nulls secret fields at any depth, leaves the client’s metadata and other bodies byte for byte', () => {
    const body = JSON.stringify({
      id: 'x', api_key: 'sk_live_1', nested: { secret: 'whsec_1', list: [{ key: 'k_1', last4: '1234' }] },
      metadata: { key: 'the client’s own' }, key_count: 2,
    });
    expect(JSON.parse(redactSecrets(body))).toEqual({
      id: 'x', api_key: null, nested: { secret: null, list: [{ key: null, last4: '1234' }] },
      metadata: { key: 'the client’s own' }, key_count: 2,
    });
    const plain = '{"id":"acct_1",  "balance":0}';
    expect(redactSecrets(plain)).toBe(plain);
    expect(redactSecrets('not json')).toBe('not json');
    expect(redactSecrets('{"api_key":null}')).toBe('{"api_key":null}');
  });
});
