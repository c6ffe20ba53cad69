import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadCodecOf } from '../../platform/payload-codec.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { createApp } from '../app.js';

/** The codec server for the Temporal UI and CLI (issue #13): POST /codec/encode, /codec/decode. */

const UI = 'http://localhost:8233';
const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');
/** A payload in the protocol's proto3 JSON: metadata values and data in base64. */
function jsonPayload(value: unknown) {
  const p = defaultPayloadConverter.toPayload(value);
  return { metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, b64(v)])), data: b64(p.data) };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

const apps = new Map<string, ReturnType<typeof createApp>>();
/** The API as NODE_ENV `nodeEnv` would build it (no rate limiter: one per app would each open Redis). */
function appIn(nodeEnv: 'development' | 'production' | 'test', extra: Partial<Harness['config']> = {}) {
  const key = nodeEnv + JSON.stringify(extra);
  if (!apps.has(key)) {
    const config = { ...h.config, NODE_ENV: nodeEnv, RATE_LIMIT_ENABLED: false, ...extra };
    apps.set(key, createApp({ config, adminApiKey: ADMIN_KEY, pool: h.pool, redis: h.redis, temporal: h.temporal }));
  }
  return apps.get(key)!;
}
async function post(app: ReturnType<typeof createApp>, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('codec server', () => {
  it('encode → decode round trip over HTTP with the admin key; encoded is what the workers write', async () => {
    const app = appIn('production');
    const value = { token: 'tok_visa', reason: 'Doctor' };
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const encoded = await post(app, '/codec/encode', { payloads: [jsonPayload(value), jsonPayload(42)] }, auth);
    expect(encoded.status).toBe(200);
    expect(encoded.body.payloads).toHaveLength(2);
    const first = encoded.body.payloads[0];
    expect(Buffer.from(first.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(first.metadata['encryption-key-id'], 'base64').toString()).toBe(h.config.TEMPORAL_PAYLOAD_KEYS[0]!.id);
    expect(Buffer.from(first.data, 'base64').toString('latin1')).not.toContain('tok_visa');

    const decoded = await post(app, '/codec/decode', encoded.body, auth);
    expect(decoded.status).toBe(200);
    expect(decoded.body.payloads).toEqual([jsonPayload(value), jsonPayload(42)]);

    // What a worker wrote into a history decodes the same way; clear payloads pass through.
    const written = payloadCodecOf(h.config).encodePayload(defaultPayloadConverter.toPayload('from a history'));
    const fromHistory = await post(app, '/codec/decode', {
      payloads: [{ metadata: { encoding: b64(written.metadata!.encoding), 'encryption-key-id': b64(written.metadata!['encryption-key-id']) }, data: b64(written.data) }, jsonPayload('clear')],
    }, auth);
    expect(fromHistory.body.payloads).toEqual([jsonPayload('from a history'), jsonPayload('clear')]);

    const tampered = { ...first, data: Buffer.from(Buffer.from(first.data, 'base64').map((b, i) => (i === 20 ? b ^ 1 : b))).toString('base64') };
    const refused = await post(app, '/codec/decode', { payloads: [tampered] }, auth);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).not.toContain('tok_visa');
    expect((await post(app, '/codec/decode', { nope: 1 }, auth)).status).toBe(400);
  });

  it('production: 401 without credentials (even from the UI origin), 401 for a bad key, 403 for a tenant key', async () => {
    const app = appIn('production');
    const body = { payloads: [jsonPayload('x')] };
    const missing = await post(app, '/codec/decode', body, { origin: UI });
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('api_key_missing');
    expect(missing.headers.get('access-control-allow-origin')).toBe(UI); // the UI can read the refusal
    expect((await post(app, '/codec/encode', body)).status).toBe(401);
    expect((await post(app, '/codec/decode', body, { authorization: 'Bearer nope' })).body.error.code).toBe('api_key_invalid');
    const tenant = await h.newTenant();
    expect((await post(app, '/codec/decode', body, { authorization: `Bearer ${tenant.apiKey}` })).status).toBe(403);
    expect((await post(appIn('test'), '/codec/decode', body, { origin: UI })).status).toBe(401);
  });

  it('development (npm start): the local UI origin decodes without a key; another origin does not', async () => {
    const app = appIn('development');
    const encoded = payloadCodecOf(h.config).encodePayload(defaultPayloadConverter.toPayload({ ok: true }));
    const body = { payloads: [{ metadata: { encoding: b64(encoded.metadata!.encoding), 'encryption-key-id': b64(encoded.metadata!['encryption-key-id']) }, data: b64(encoded.data) }] };
    const fromUi = await post(app, '/codec/decode', body, { origin: 'http://127.0.0.1:8233' });
    expect(fromUi.status).toBe(200);
    expect(fromUi.body.payloads).toEqual([jsonPayload({ ok: true })]);
    expect((await post(app, '/codec/decode', body, { origin: 'http://evil.example' })).status).toBe(401);
    expect((await post(app, '/codec/decode', body)).status).toBe(401);
    // Listening beyond loopback, a forged Origin would open it to the network: the key is required.
    expect((await post(appIn('development', { HOST: '0.0.0.0' }), '/codec/decode', body, { origin: 'http://127.0.0.1:8233' })).status).toBe(401);
  });

  it('CORS: the preflight of an allowed UI origin is answered with its headers; another origin gets none', async () => {
    const app = appIn('production');
    const preflight = (origin: string) => app.request('/codec/decode', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
    });
    const allowed = await preflight(UI);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase().split(',')).toEqual(expect.arrayContaining(['content-type', 'x-namespace', 'authorization']));
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const configured = appIn('production', { TEMPORAL_UI_ORIGINS: ['https://temporal.example.com'] });
    const custom = await configured.request('/codec/decode', { method: 'OPTIONS', headers: { origin: 'https://temporal.example.com', 'access-control-request-method': 'POST' } });
    expect(custom.headers.get('access-control-allow-origin')).toBe('https://temporal.example.com');
  });
});
