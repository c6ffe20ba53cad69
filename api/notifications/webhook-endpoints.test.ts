import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../domain/ids.js';
import { startHarness, type Harness } from '../../test/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

const endpointCount = async (tenantId: string) =>
  (await h.pool.query('SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1', [tenantId])).rows[0].n as number;

async function webhookDelivery(tenantId: string, endpointId: string, status: string): Promise<string> {
  const id = newId('delivery');
  await h.pool.query(
    `INSERT INTO deliveries (id, tenant_id, kind, channel, endpoint_id, event_id, status, attempts, response_status)
     VALUES ($1, $2, 'webhook', 'webhook', $3, $4, $5, 1, 200)`,
    [id, tenantId, endpointId, newId('event'), status],
  );
  return id;
}

describe('webhook endpoints', () => {
  it('creates with a secret shown once; lists, reads without the secret', async () => {
    const { call } = await h.newTenant();
    const res = await call('POST', '/v1/webhook-endpoints', { body: { url: 'https://merchant.example/hooks', events: ['payment.captured', 'payment.refunded'] } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^we_[0-9A-Z]{26}$/), object: 'webhook_endpoint', url: 'https://merchant.example/hooks',
      events: ['payment.captured', 'payment.refunded'], status: 'enabled', secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
      created_at: expect.any(String),
    });
    const { secret, ...shown } = res.body;
    const got = await call('GET', `/v1/webhook-endpoints/${res.body.id}`);
    expect(got.body).toEqual(shown);
    expect(JSON.stringify(got.body)).not.toContain(secret);

    const all = await call('POST', '/v1/webhook-endpoints', { body: { url: 'http://localhost:9999/dev', events: ['*'] } });
    expect(all.status).toBe(201);
    expect(all.body.secret).not.toBe(secret);
    const list = await call('GET', '/v1/webhook-endpoints?limit=1');
    expect(list.body).toMatchObject({ object: 'list', has_more: true, data: [{ id: all.body.id }] });
    expect(list.body.data[0].secret).toBeUndefined();
    expect((await call('GET', `/v1/webhook-endpoints?starting_after=${all.body.id}`)).body.data).toEqual([shown]);
  });

  it('lists an endpoint’s deliveries, newest first, and only its own', async () => {
    const tenant = await h.newTenant();
    const other = await h.newTenant();
    const endpoint = (await tenant.call('POST', '/v1/webhook-endpoints', { body: { url: 'https://m.example/a', events: ['*'] } })).body;
    const second = (await tenant.call('POST', '/v1/webhook-endpoints', { body: { url: 'https://m.example/b', events: ['*'] } })).body;
    const first = await webhookDelivery(tenant.id, endpoint.id, 'sent');
    const latest = await webhookDelivery(tenant.id, endpoint.id, 'dead_lettered');
    await webhookDelivery(tenant.id, second.id, 'sent');

    const res = await tenant.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((d: { id: string }) => d.id)).toEqual([latest, first]);
    expect(res.body.data[1]).toMatchObject({
      object: 'delivery', kind: 'webhook', channel: 'webhook', endpoint_id: endpoint.id, status: 'sent', attempts: 1, response_status: 200,
    });
    expect((await tenant.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries?limit=1`)).body.has_more).toBe(true);
    expect((await other.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`)).status).toBe(404);
    expect((await other.call('GET', `/v1/webhook-endpoints/${endpoint.id}`)).body.error).toMatchObject({ code: 'resource_missing' });
    expect((await other.call('GET', '/v1/webhook-endpoints')).body.data).toEqual([]);
  });

  it('refuses bad endpoints with the contract’s errors and writes nothing', async () => {
    const { id, call } = await h.newTenant();
    const cases: [unknown, string, string][] = [
      [{ events: ['*'] }, 'parameter_missing', 'url'],
      [{ url: 'https://m.example' }, 'parameter_missing', 'events'],
      [{ url: 'ftp://m.example/x', events: ['*'] }, 'parameter_invalid', 'url'],
      [{ url: 'not a url', events: ['*'] }, 'parameter_invalid', 'url'],
      [{ url: 'https://user:pass@m.example/x', events: ['*'] }, 'parameter_invalid', 'url'],
      [{ url: `https://m.example/${'x'.repeat(2_100)}`, events: ['*'] }, 'parameter_invalid', 'url'],
      [{ url: 'https://m.example', events: [] }, 'parameter_invalid', 'events'],
      [{ url: 'https://m.example', events: ['payment.exploded'] }, 'parameter_invalid', 'events[0]'],
      [{ url: 'https://m.example', events: ['payment.captured', 'payment.captured'] }, 'parameter_invalid', 'events'],
      [{ url: 'https://m.example', events: ['*', 'payment.captured'] }, 'parameter_invalid', 'events'],
      [{ url: 'https://m.example', events: ['*'], secret: 'mine' }, 'parameter_unknown', 'secret'],
    ];
    for (const [body, code, param] of cases) {
      const res = await call('POST', '/v1/webhook-endpoints', { body });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(body)).toEqual([400, code, param]);
    }
    expect(await endpointCount(id)).toBe(0);
  });

  it('Idempotency-Key replays the creation (same id and secret), creating one endpoint', async () => {
    const { id, call } = await h.newTenant();
    const body = { url: 'https://m.example/idem', events: ['transfer.succeeded'] };
    const first = await call('POST', '/v1/webhook-endpoints', { body, idempotencyKey: 'we-1' });
    const again = await call('POST', '/v1/webhook-endpoints', { body, idempotencyKey: 'we-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await endpointCount(id)).toBe(1);
  });
});
