import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSteadfastClient, parseRetryAfterMs, SteadfastError, unwrap, type SteadfastClientOptions } from './src/index.js';

/**
 * The client's retries against a tiny local HTTP server that answers from a script: what is
 * retried, after how long, with which Idempotency-Key, and what is returned at once.
 */

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
type Reply = Answer | 'drop';
interface Seen { method: string; path: string; headers: IncomingHttpHeaders; body: string; atMs: number }

const error = (status: number, type: string, code: string): Answer => ({ status, body: { error: { type, code, message: code } } });
const rateLimited = (retryAfterS: string): Answer => ({ ...error(429, 'rate_limit_error', 'rate_limited'), headers: { 'retry-after': retryAfterS } });
const TRANSFER = {
  id: 'tr_1', object: 'transfer', status: 'succeeded', failure_code: null, from_account_id: 'acct_a',
  to_account_id: 'acct_b', amount: 1250, currency: 'USD', description: null, created_at: '2030-01-01T00:00:00.000Z',
};
const TRANSFER_BODY = { from_account_id: 'acct_a', to_account_id: 'acct_b', amount: 1250, currency: 'USD' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: Server;
let baseUrl: string;
let script: Reply[] = [];
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, atMs: Date.now() });
      const reply = script.shift() ?? error(500, 'api_error', 'nothing_scripted');
      if (reply === 'drop') return void req.socket.destroy();
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  script = [];
  seen = [];
});

function client(options: Partial<SteadfastClientOptions> = {}) {
  return createSteadfastClient({ baseUrl, apiKey: 'sk_test_key', retry: { initialDelayMs: 5, maxDelayMs: 20 }, ...options });
}
const keys = () => seen.map((s) => s.headers['idempotency-key']);

describe('idempotency keys', () => {
  it('every POST carries a generated key, a new one per call, the same on each attempt of that call', async () => {
    script = [error(503, 'api_error', 'internal_error'), error(502, 'api_error', 'internal_error'), { status: 201, body: TRANSFER }, { status: 201, body: TRANSFER }];
    const api = client();
    const transfer = await unwrap(api.POST('/v1/transfers', { body: TRANSFER_BODY }));
    expect(transfer.id).toBe('tr_1');
    await unwrap(api.POST('/v1/transfers', { body: TRANSFER_BODY }));

    expect(seen.map((s) => [s.method, s.path, s.headers.authorization])).toEqual(Array(4).fill(['POST', '/v1/transfers', 'Bearer sk_test_key']));
    const [first, second, third, fourth] = keys();
    expect(first).toMatch(UUID);
    expect([second, third]).toEqual([first, first]);
    expect(fourth).toMatch(UUID);
    expect(fourth).not.toBe(first);
    // The same bytes each time.
    expect(new Set(seen.map((s) => s.body))).toEqual(new Set([JSON.stringify(TRANSFER_BODY)]));
  });

  it('keeps the caller’s key (as a header or as the declared header parameter)', async () => {
    script = [error(500, 'api_error', 'internal_error'), { status: 201, body: TRANSFER }, { status: 201, body: TRANSFER }];
    const api = client();
    await unwrap(api.POST('/v1/transfers', { body: TRANSFER_BODY, headers: { 'Idempotency-Key': 'order-42' } }));
    await unwrap(api.POST('/v1/transfers', { body: TRANSFER_BODY, params: { header: { 'idempotency-key': 'order-43' } } }));
    expect(keys()).toEqual(['order-42', 'order-42', 'order-43']);
  });

  it('GET, PUT and DELETE carry no key', async () => {
    script = [{ status: 200, body: TRANSFER }, { status: 200, body: {} }, { status: 200, body: {} }];
    const api = client();
    await unwrap(api.GET('/v1/transfers/{id}', { params: { path: { id: 'tr_1' } } }));
    await unwrap(api.PUT('/v1/users/{user_id}/contacts', { params: { path: { user_id: 'u1' } }, body: { email: 'a@example.com' } }));
    await unwrap(api.DELETE('/v1/actor-signing-keys/{id}', { params: { path: { id: 'ask_1' } } }));
    expect(keys()).toEqual([undefined, undefined, undefined]);
  });
});

describe('what is retried', () => {
  it('429: waits Retry-After (seconds), then the same request again', async () => {
    script = [rateLimited('1'), { status: 201, body: TRANSFER }];
    const transfer = await unwrap(client().POST('/v1/transfers', { body: TRANSFER_BODY }));
    expect(transfer.status).toBe('succeeded');
    expect(seen).toHaveLength(2);
    expect(seen[1]!.atMs - seen[0]!.atMs).toBeGreaterThanOrEqual(950);
    expect(keys()[1]).toBe(keys()[0]);
  });

  it('429 on a PUT too (a refused request did nothing); a Retry-After beyond retryAfterMaxMs is returned, not waited for', async () => {
    script = [rateLimited('0'), { status: 200, body: {} }];
    await unwrap(client().PUT('/v1/users/{user_id}/contacts', { params: { path: { user_id: 'u1' } }, body: { email: 'a@example.com' } }));
    expect(seen.map((s) => s.method)).toEqual(['PUT', 'PUT']);

    seen = [];
    script = [rateLimited('120')];
    const refused = await unwrap(client({ retry: { retryAfterMaxMs: 5_000 } }).GET('/v1/transfers/{id}', { params: { path: { id: 'tr_1' } } })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SteadfastError);
    expect(refused).toMatchObject({ status: 429, type: 'rate_limit_error', code: 'rate_limited' });
    expect(seen).toHaveLength(1);
  });

  it('409 idempotency_key_in_use (the first attempt still runs) is retried with the same key', async () => {
    script = [error(409, 'idempotency_error', 'idempotency_key_in_use'), error(409, 'idempotency_error', 'idempotency_key_in_use'), { status: 201, body: TRANSFER }];
    const transfer = await unwrap(client().POST('/v1/transfers', { body: TRANSFER_BODY }));
    expect(transfer.id).toBe('tr_1');
    expect(new Set(keys()).size).toBe(1);
    expect(seen).toHaveLength(3);
  });

  it('5xx and dropped connections on GET and on keyed POSTs, up to attemptsMax; then the last answer', async () => {
    script = ['drop', error(503, 'api_error', 'internal_error'), { status: 200, body: TRANSFER }];
    expect((await unwrap(client().GET('/v1/transfers/{id}', { params: { path: { id: 'tr_1' } } }))).id).toBe('tr_1');
    expect(seen).toHaveLength(3);

    seen = [];
    script = ['drop', { status: 201, body: TRANSFER }];
    await unwrap(client().POST('/v1/transfers', { body: TRANSFER_BODY }));
    expect(seen).toHaveLength(2);
    expect(keys()[1]).toBe(keys()[0]);

    seen = [];
    script = Array(5).fill(error(500, 'api_error', 'internal_error'));
    const failed = await unwrap(client({ retry: { attemptsMax: 3, initialDelayMs: 1 } }).POST('/v1/transfers', { body: TRANSFER_BODY })).catch((e: unknown) => e);
    expect(failed).toMatchObject({ name: 'SteadfastError', status: 500, code: 'internal_error' });
    expect(seen).toHaveLength(3);
  });
});

describe('what is not retried', () => {
  it.each([
    ['409 resource_exists', error(409, 'invalid_request_error', 'resource_exists')],
    ['409 payment_invalid_state', error(409, 'invalid_request_error', 'payment_invalid_state')],
    ['422 idempotency_key_reused', error(422, 'idempotency_error', 'idempotency_key_reused')],
    ['400 currency_mismatch', error(400, 'invalid_request_error', 'currency_mismatch')],
  ])('a business answer (%s) is returned at once, as a typed error', async (_name, reply) => {
    script = [reply, { status: 201, body: TRANSFER }];
    const api = client();
    const { data, error: body, response } = await api.POST('/v1/transfers', { body: TRANSFER_BODY });
    expect(data).toBeUndefined();
    expect(body?.error.code).toBe((reply.body as { error: { code: string } }).error.code);
    expect(seen).toHaveLength(1);

    const thrown = await unwrap(Promise.resolve({ data: undefined, error: body, response })).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(SteadfastError);
    expect(thrown).toMatchObject({ status: response.status, code: body?.error.code, message: body?.error.code });
  });

  it('5xx and dropped connections on PUT and DELETE (not idempotent here: no key)', async () => {
    script = [error(503, 'api_error', 'internal_error'), 'drop'];
    const put = await client().PUT('/v1/users/{user_id}/contacts', { params: { path: { user_id: 'u1' } }, body: { email: 'a@example.com' } });
    expect(put.response.status).toBe(503);
    await expect(client().DELETE('/v1/actor-signing-keys/{id}', { params: { path: { id: 'ask_1' } } })).rejects.toThrow();
    expect(seen.map((s) => s.method)).toEqual(['PUT', 'DELETE']);
  });

  it('nothing after the caller aborts', async () => {
    script = [rateLimited('30')];
    const abort = new AbortController();
    const call = client().GET('/v1/transfers/{id}', { params: { path: { id: 'tr_1' } }, signal: abort.signal });
    setTimeout(() => abort.abort(new Error('caller gave up')), 100);
    await expect(call).rejects.toThrow('caller gave up');
    expect(seen).toHaveLength(1);
  });
});

describe('headers and parsing', () => {
  it('names the actor on each request (a function mints a fresh token per request; a call may name its own)', async () => {
    script = [{ status: 200, body: TRANSFER }, { status: 200, body: TRANSFER }];
    let minted = 0;
    const api = client({ actor: () => `token-${++minted}` });
    await unwrap(api.GET('/v1/transfers/{id}', { params: { path: { id: 'tr_1' } } }));
    await unwrap(api.GET('/v1/transfers/{id}', { params: { path: { id: 'tr_1' } }, headers: { 'Steadfast-Actor': 'own' } }));
    expect(seen.map((s) => s.headers['steadfast-actor'])).toEqual(['token-1', 'own']);
  });

  it('Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfterMs('3', now)).toBe(3000);
    expect(parseRetryAfterMs('Tue, 01 Jan 2030 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfterMs('Mon, 31 Dec 2029 23:59:00 GMT', now)).toBe(0);
    expect([parseRetryAfterMs(null, now), parseRetryAfterMs('soon', now)]).toEqual([null, null]);
  });
});
