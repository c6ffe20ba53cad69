import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createChannelSenders } from '../../activities/notifications/channels/index.js';
import type { ChannelSenders } from '../../activities/notifications/channels/types.js';
import { attemptDelivery } from '../../activities/notifications/attempt-delivery.js';
import { newId } from '../../domain/ids.js';
import { verifyWebhookSignature } from '../../domain/notifications/signature.js';
import { secretBoxOf } from '../../platform/config-security.js';
import { insertWebhookDelivery } from '../../store/notifications/deliveries.js';
import { listSubscribedEndpointIds, sealClearWebhookSecrets } from '../../store/notifications/webhook-endpoints.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';

const ENDPOINTS_MAX = 4;

/** A merchant's receiver on a free port of 127.0.0.1 (allowlisted for this file): what it was sent. */
let receiver: Server;
let receiverUrl: string;
let received: { path: string; signature: string; body: string }[] = [];
let connections = 0;

let h: Harness;
let senders: ChannelSenders;
beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      received.push({ path: req.url ?? '', signature: String(req.headers['steadfast-signature']), body });
      res.writeHead(200).end();
    });
  });
  receiver.on('connection', () => connections++);
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  receiverUrl = `http://127.0.0.1:${port}`;
  h = await startHarness({
    worker: false,
    env: { WEBHOOK_PRIVATE_ALLOWLIST: `127.0.0.1:${port}`, WEBHOOK_ENDPOINTS_MAX_PER_TENANT: String(ENDPOINTS_MAX) },
  });
  senders = createChannelSenders(h.config);
});
afterAll(async () => {
  senders?.email.close();
  await h?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});
beforeEach(() => {
  received = [];
  connections = 0;
});

/** An event's delivery to the endpoint, attempted once the way the worker does it. */
async function deliverEvent(tenantId: string, endpointId: string): Promise<{ status: string; error?: string; body: string }> {
  const body = JSON.stringify({ id: newId('event'), type: 'payment.captured', data: { amount: 1050 } });
  const deliveryId = await insertWebhookDelivery(h.pool, { tenantId, endpointId, eventId: newId('event'), body });
  return { ...await attemptDelivery({ pool: h.pool, senders }, { tenantId, deliveryId, attempt: 1 }), body };
}

const signaturesOf = (header: string) => header.split(',').filter((part) => part.startsWith('v1=')).length;
const verifies = (r: { signature: string; body: string }, secret: string) => verifyWebhookSignature(r.signature, secret, r.body).ok;

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

    const all = await call('POST', '/v1/webhook-endpoints', { body: { url: 'http://hooks.example.com/dev', events: ['*'] } });
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

  it('Idempotency-Key replays the creation (same id, the secret shown once: null), creating one endpoint', async () => {
    const { id, call } = await h.newTenant();
    const body = { url: 'https://m.example/idem', events: ['transfer.succeeded'] };
    const first = await call('POST', '/v1/webhook-endpoints', { body, idempotencyKey: 'we-1' });
    const again = await call('POST', '/v1/webhook-endpoints', { body, idempotencyKey: 'we-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual({ ...first.body, secret: null });
    expect(await endpointCount(id)).toBe(1);

    const rotated = await call('POST', `/v1/webhook-endpoints/${first.body.id}/rotate-secret`, { body: {}, idempotencyKey: 'we-rot-1' });
    const replayed = await call('POST', `/v1/webhook-endpoints/${first.body.id}/rotate-secret`, { body: {}, idempotencyKey: 'we-rot-1' });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual({ ...rotated.body, secret: null });
    // Rotated once: the secret shown first still signs (the replay did not rotate again).
    const { rows: [row] } = await h.pool.query('SELECT previous_secret_sealed FROM webhook_endpoints WHERE id = $1', [first.body.id]);
    expect(secretBoxOf(h.config).open(row.previous_secret_sealed)).toBe(first.body.secret);
  });
});

describe('webhook secrets at rest', () => {
  it('stores only the sealed secret: no whsec_ in the table, and the delivery signs with the secret shown', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const created = await call('POST', '/v1/webhook-endpoints', { body: { url: `${receiverUrl}/sealed`, events: ['*'] } });
    expect(created.status).toBe(201);
    const { rows: [row] } = await h.pool.query('SELECT w.secret, w.secret_sealed, row_to_json(w)::text AS everything FROM webhook_endpoints w WHERE id = $1', [created.body.id]);
    expect(row.secret).toBeNull();
    expect(row.secret_sealed).toMatch(/^v1\./);
    expect(row.everything).not.toContain('whsec_');
    expect(row.everything).not.toContain(created.body.secret.slice(6));
    expect(secretBoxOf(h.config).open(row.secret_sealed)).toBe(created.body.secret);

    expect((await deliverEvent(tenantId, created.body.id)).status).toBe('sent');
    expect(received).toHaveLength(1);
    expect(verifies(received[0]!, created.body.secret)).toBe(true);
  });

  it('secrets written in clear before migration 0010 are sealed (idempotently) and keep signing', async () => {
    const { id: tenantId } = await h.newTenant();
    const endpointId = newId('webhookEndpoint');
    const legacySecret = `whsec_legacy${Date.now()}`;
    // A row as the code before 0010 wrote it. The NOT VALID check refuses new clear secrets, so it
    // is lifted for this one insert (one transaction: no other writer sees the table without it).
    const client = await h.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_no_clear_secret');
      await client.query(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, $2, $3, '{*}', $4)`,
        [endpointId, tenantId, `${receiverUrl}/legacy`, legacySecret]);
      await client.query('ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_no_clear_secret CHECK (secret IS NULL) NOT VALID');
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
    // New code writes no clear secret: the database refuses one.
    await expect(h.pool.query(`UPDATE webhook_endpoints SET secret = 'whsec_x' WHERE id = $1`, [endpointId])).rejects.toThrow(/no_clear_secret/);

    expect(await sealClearWebhookSecrets(h.pool, secretBoxOf(h.config))).toBeGreaterThanOrEqual(1);
    expect(await sealClearWebhookSecrets(h.pool, secretBoxOf(h.config))).toBe(0);
    const clear = await h.pool.query(`SELECT count(*)::int AS n FROM webhook_endpoints w WHERE secret IS NOT NULL OR row_to_json(w)::text LIKE '%whsec\_%'`);
    expect(clear.rows[0].n).toBe(0);

    expect((await deliverEvent(tenantId, endpointId)).status).toBe('sent');
    expect(verifies(received[0]!, legacySecret)).toBe(true);
  });
});

describe('rotating an endpoint secret', () => {
  it('signs with the old and the new secret during the grace, then with the new one only', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const endpoint = (await call('POST', '/v1/webhook-endpoints', { body: { url: `${receiverUrl}/rotate`, events: ['*'] } })).body;
    const rotated = await call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { grace: '2s' } });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ id: endpoint.id, object: 'webhook_endpoint', secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/) });
    const newSecret = rotated.body.secret as string;
    expect(newSecret).not.toBe(endpoint.secret);
    const rotatedAt = Date.now();

    expect((await deliverEvent(tenantId, endpoint.id)).status).toBe('sent');
    expect(signaturesOf(received[0]!.signature)).toBe(2);
    expect(verifies(received[0]!, endpoint.secret)).toBe(true);
    expect(verifies(received[0]!, newSecret)).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, rotatedAt + 2_300 - Date.now())));
    expect((await deliverEvent(tenantId, endpoint.id)).status).toBe('sent');
    expect(signaturesOf(received[1]!.signature)).toBe(1);
    expect(verifies(received[1]!, newSecret)).toBe(true);
    expect(verifies(received[1]!, endpoint.secret)).toBe(false);
    const { rows: [row] } = await h.pool.query('SELECT row_to_json(w)::text AS everything FROM webhook_endpoints w WHERE id = $1', [endpoint.id]);
    expect(row.everything).not.toContain('whsec_');
  });

  it('grace 0s ends the old secret at once; a second rotation drops the oldest; the default grace is 24h', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const endpoint = (await call('POST', '/v1/webhook-endpoints', { body: { url: `${receiverUrl}/rotate0`, events: ['*'] } })).body;
    const now = (await call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { grace: '0s' } })).body.secret;
    await deliverEvent(tenantId, endpoint.id);
    expect(signaturesOf(received[0]!.signature)).toBe(1);
    expect(verifies(received[0]!, now)).toBe(true);

    const second = (await call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: {} })).body.secret;
    const { rows: [byDefault] } = await h.pool.query(
      `SELECT extract(epoch FROM previous_secret_expires_at - now())::int AS left_s FROM webhook_endpoints WHERE id = $1`, [endpoint.id]);
    expect(byDefault.left_s).toBeGreaterThan(86_300);
    expect(byDefault.left_s).toBeLessThanOrEqual(86_400);
    const third = (await call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { grace: '1h' } })).body.secret;
    const { rows: [row] } = await h.pool.query(
      `SELECT extract(epoch FROM previous_secret_expires_at - now())::int AS left_s FROM webhook_endpoints WHERE id = $1`, [endpoint.id]);
    expect(row.left_s).toBeGreaterThan(3_500);
    expect(row.left_s).toBeLessThanOrEqual(3_600);
    await deliverEvent(tenantId, endpoint.id);
    expect(signaturesOf(received[1]!.signature)).toBe(2);
    expect([second, third, now].map((secret) => verifies(received[1]!, secret))).toEqual([true, true, false]);
  });

  it('refuses a bad grace, and another tenant’s or an unknown endpoint (404)', async () => {
    const tenant = await h.newTenant();
    const other = await h.newTenant();
    const endpoint = (await tenant.call('POST', '/v1/webhook-endpoints', { body: { url: 'https://hooks.example.com/r', events: ['*'] } })).body;
    for (const grace of ['forever', '24', '-1s', '31d', '1.5h']) {
      const res = await tenant.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { grace } });
      expect([res.status, res.body.error?.code, res.body.error?.param], grace).toEqual([400, 'parameter_invalid', 'grace']);
    }
    expect((await tenant.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { secret: 'x' } })).body.error.code).toBe('parameter_unknown');
    expect((await other.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: {} })).status).toBe(404);
    expect((await tenant.call('POST', '/v1/webhook-endpoints/we_nope/rotate-secret', { body: {} })).status).toBe(404);
  });
});

describe('deleting an endpoint', () => {
  it('answers the endpoint as deleted; nothing is sent to it afterwards, queued deliveries included', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const endpoint = (await call('POST', '/v1/webhook-endpoints', { body: { url: `${receiverUrl}/deleted`, events: ['*'] } })).body;
    const body = JSON.stringify({ type: 'payment.captured' });
    const waiting = await insertWebhookDelivery(h.pool, { tenantId, endpointId: endpoint.id, eventId: newId('event'), body });

    const deleted = await call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(deleted.status).toBe(200);
    const { secret: _secret, ...shown } = endpoint;
    expect(deleted.body).toEqual({ ...shown, status: 'disabled', deleted: true });

    // The queued delivery (a retry waiting for its backoff) is cancelled and its next attempt sends nothing.
    expect((await h.pool.query('SELECT status, last_error FROM deliveries WHERE id = $1', [waiting])).rows[0])
      .toEqual({ status: 'cancelled', last_error: 'webhook endpoint deleted' });
    expect((await attemptDelivery({ pool: h.pool, senders }, { tenantId, deliveryId: waiting, attempt: 2 })).status).toBe('failed');
    // Even one that raced the delete (queued again by an ops retry, say) is not sent.
    await h.pool.query(`UPDATE deliveries SET status = 'queued' WHERE id = $1`, [waiting]);
    expect(await attemptDelivery({ pool: h.pool, senders }, { tenantId, deliveryId: waiting, attempt: 3 })).toEqual({ status: 'failed', error: 'webhook endpoint deleted' });
    // New events do not plan a delivery to it.
    expect(await listSubscribedEndpointIds(h.pool, tenantId, 'payment.captured')).toEqual([]);
    expect(received).toEqual([]);
    expect(connections).toBe(0);

    const { rows: [row] } = await h.pool.query('SELECT secret, secret_sealed, previous_secret_sealed, deleted_at FROM webhook_endpoints WHERE id = $1', [endpoint.id]);
    expect(row).toMatchObject({ secret: null, secret_sealed: null, previous_secret_sealed: null, deleted_at: expect.any(Date) });
    expect((await call('GET', `/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(404);
    expect((await call('GET', '/v1/webhook-endpoints')).body.data).toEqual([]);
    expect((await call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(404);
    expect((await call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: {} })).status).toBe(404);
  });

  it('another tenant cannot delete it (404)', async () => {
    const tenant = await h.newTenant();
    const other = await h.newTenant();
    const endpoint = (await tenant.call('POST', '/v1/webhook-endpoints', { body: { url: 'https://hooks.example.com/d', events: ['*'] } })).body;
    expect((await other.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(404);
    expect((await tenant.call('GET', `/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(200);
  });
});

describe('endpoints per tenant', () => {
  it(`caps them at WEBHOOK_ENDPOINTS_MAX_PER_TENANT (${ENDPOINTS_MAX} here), also under concurrent creation; deleted ones do not count`, async () => {
    const { id: tenantId, call } = await h.newTenant();
    const create = (i: number) => call('POST', '/v1/webhook-endpoints', { body: { url: `https://hooks.example.com/${i}`, events: ['*'] } });
    const answers = await Promise.all(Array.from({ length: ENDPOINTS_MAX + 3 }, (_, i) => create(i)));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(ENDPOINTS_MAX);
    const refused = answers.filter((r) => r.status !== 201);
    expect(refused.map((r) => [r.status, r.body.error.type, r.body.error.code])).toEqual(
      Array(3).fill([409, 'invalid_request_error', 'resource_limit_reached']));
    const live = async () => (await h.pool.query('SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1 AND deleted_at IS NULL', [tenantId])).rows[0].n;
    expect(await live()).toBe(ENDPOINTS_MAX);

    await call('DELETE', `/v1/webhook-endpoints/${answers.find((r) => r.status === 201)!.body.id}`);
    expect((await create(99)).status).toBe(201);
    expect((await create(100)).status).toBe(409);
  });
});

describe('SSRF: where endpoints may point', () => {
  /** The API with the production defaults: https only, nothing allowlisted. */
  let strictApp: ReturnType<typeof createApp> | undefined;
  function strictCall(apiKey: string) {
    // One app for the file (each app ties a cache to the shared Redis until it ends).
    const app = strictApp ??= createApp({
      config: { ...h.config, WEBHOOK_ALLOW_HTTP: false, WEBHOOK_PRIVATE_ALLOWLIST: [] }, adminApiKey: ADMIN_KEY,
      pool: h.pool, redis: h.redis, temporal: h.temporal, rateLimiter: h.rateLimiter,
    });
    return async (url: string) => {
      const res = await app.request('/v1/webhook-endpoints', {
        method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url, events: ['*'] }),
      });
      return { status: res.status, body: await res.json() as Record<string, any> };
    };
  }

  it('refuses http:// unless WEBHOOK_ALLOW_HTTP', async () => {
    const tenant = await h.newTenant();
    const res = await strictCall(tenant.apiKey)('http://hooks.example.com/x');
    expect([res.status, res.body.error.code, res.body.error.param]).toEqual([400, 'parameter_invalid', 'url']);
    expect(res.body.error.message).toMatch(/https/);
    expect((await strictCall(tenant.apiKey)('https://hooks.example.com/x')).status).toBe(201);
  });

  it.each([
    ['https://127.0.0.1/x', /loopback/], ['https://10.0.0.1/x', /private/], ['https://[::1]/x', /loopback/],
    ['https://169.254.169.254/latest/meta-data/', /metadata/], ['https://[fd00:ec2::254]/', /metadata/],
    ['https://metadata.google.internal/computeMetadata/v1/', /metadata/], ['https://localhost/x', /resolves to a loopback/],
    ['https://[::ffff:127.0.0.1]/x', /loopback/], ['https://192.168.1.10/x', /private/], ['https://172.16.5.5/x', /private/],
    ['https://100.64.0.1/x', /shared/], ['https://[fe80::1]/x', /link-local/], ['https://[fc00::1]/x', /unique-local/],
    ['https://0.0.0.0/x', /unspecified/], ['https://224.0.0.1/x', /multicast/], ['https://2130706433/x', /loopback/],
  ])('refuses %s at creation (400 parameter_invalid, param url), writing nothing', async (url, reason) => {
    const { id: tenantId, call } = await h.newTenant();
    for (const send of [(u: string) => call('POST', '/v1/webhook-endpoints', { body: { url: u, events: ['*'] } }), strictCall((await h.newTenant()).apiKey)]) {
      const res = await send(url);
      expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'parameter_invalid', 'url']);
      expect(res.body.error.message).toMatch(reason);
    }
    expect(await endpointCount(tenantId)).toBe(0);
  });

  it('accepts an allowlisted host:port (exactly that one) and delivers to it', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const port = Number(new URL(receiverUrl).port);
    const other = await call('POST', '/v1/webhook-endpoints', { body: { url: `http://127.0.0.1:${port + 1}/x`, events: ['*'] } });
    expect([other.status, other.body.error?.code]).toEqual([400, 'parameter_invalid']);
    const ok = await call('POST', '/v1/webhook-endpoints', { body: { url: `${receiverUrl}/allowed`, events: ['*'] } });
    expect(ok.status).toBe(201);
    expect((await deliverEvent(tenantId, ok.body.id)).status).toBe('sent');
    expect(received.map((r) => r.path)).toEqual(['/allowed']);
  });

  it('a name refused at send time (no longer allowed) fails the delivery without a connection', async () => {
    const { id: tenantId, call } = await h.newTenant();
    const ok = await call('POST', '/v1/webhook-endpoints', { body: { url: `${receiverUrl}/later`, events: ['*'] } });
    // The allowlist changed since (a restart with another WEBHOOK_PRIVATE_ALLOWLIST): the worker checks again.
    const strictSenders = createChannelSenders({ ...h.config, WEBHOOK_PRIVATE_ALLOWLIST: [] });
    try {
      const deliveryId = await insertWebhookDelivery(h.pool, { tenantId, endpointId: ok.body.id, eventId: newId('event'), body: '{}' });
      const result = await attemptDelivery({ pool: h.pool, senders: strictSenders }, { tenantId, deliveryId, attempt: 1 });
      expect(result).toMatchObject({ status: 'failed', error: expect.stringMatching(/loopback/) });
      expect(connections).toBe(0);
    } finally {
      strictSenders.email.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents rotation and deletion', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, any>> };
    expect(Object.keys(doc.paths['/v1/webhook-endpoints/{id}/rotate-secret']!)).toEqual(['post']);
    expect(Object.keys(doc.paths['/v1/webhook-endpoints/{id}']!).sort()).toEqual(['delete', 'get']);
    expect(doc.paths['/v1/webhook-endpoints']!.post.description).toMatch(/WEBHOOK_PRIVATE_ALLOWLIST/);
  });
});
