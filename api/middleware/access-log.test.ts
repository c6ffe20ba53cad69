import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureLogs } from '../../platform/log.js';
import { startHarness, type Harness } from '../../test/harness.js';

/**
 * The API's request logging (issue #16): one access line per request with its route pattern,
 * status, duration, request id and tenant id; the request's logger carries both ids to every line
 * written for it (here: the error handler's). Requests through the app, as the tests make them.
 */

let h: Harness;
let logs: ReturnType<typeof captureLogs>;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.stop();
});

/** The access lines of the request that answered with `requestId`. */
const accessLines = (requestId: string | null) => logs.lines().filter((line) => line.msg === 'request' && line.requestId === requestId);

describe('the access log', () => {
  it('one line per request at info: method, route pattern (not the path), status, duration, request id, tenant id', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('GET', '/v1/accounts/acct_missing');
    expect(res.status).toBe(404);
    const requestId = res.headers.get('request-id');
    expect(requestId).toEqual(expect.any(String));
    expect(accessLines(requestId)).toEqual([expect.objectContaining({
      level: 'info', method: 'GET', route: '/v1/accounts/:id', status: 404, durationMs: expect.any(Number), requestId, tenantId: tenant.id,
    })]);
    expect(logs.text()).not.toContain('acct_missing');
  });

  it('a request refused before authentication has no tenant; probes log at debug', async () => {
    const refused = await h.app.request('/v1/accounts/acct_1', { headers: { authorization: 'Bearer sk_not_a_key_0123456789' } });
    expect(refused.status).toBe(401);
    const [line] = accessLines(refused.headers.get('request-id'));
    expect(line).toMatchObject({ level: 'info', route: '/v1/accounts/:id', status: 401 });
    expect(line).not.toHaveProperty('tenantId');
    const probe = await h.app.request('/healthz');
    expect(accessLines(probe.headers.get('request-id'))).toEqual([expect.objectContaining({ level: 'debug', route: '/healthz', status: 200 })]);
    expect(logs.text()).not.toContain('sk_not_a_key');
  });

  it('a client’s Request-Id is its own text: written scrubbed (a card number is not logged)', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('GET', '/v1/accounts/acct_1', { headers: { 'request-id': '4242-4242-4242-4242' } });
    expect(res.headers.get('request-id')).toBe('4242-4242-4242-4242'); // the answer keeps it, as before
    expect(logs.lines().filter((line) => line.msg === 'request' && line.tenantId === tenant.id))
      .toEqual([expect.objectContaining({ requestId: '[Redacted number]', route: '/v1/accounts/:id', status: 404 })]);
    expect(logs.text()).not.toContain('4242');
  });
});
