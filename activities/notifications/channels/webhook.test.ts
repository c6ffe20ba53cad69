import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../../domain/notifications/signature.js';
import { closedPort, failureOf } from '../../../test/channels.js';
import { useProvidersSimulator } from '../../../test/simulators.js';
import { WEBHOOK_USER_AGENT, createWebhookSender } from './webhook.js';

const providers = useProvidersSimulator();

const SECRET = 'whsec_test';
const RAW_BODY = '{"id":"evt_1","type":"payment.captured","data":{"amount":1050,"note":"café"}}';
const NOW_MS = 1_700_000_000_000;
const request = (overrides: Partial<{ url: string; secret: string; idempotencyKey: string }> = {}) => ({
  url: `${providers.url}/webhooks/merchant-1`, secret: SECRET, eventId: 'evt_1', rawBody: RAW_BODY, idempotencyKey: 'dlv_wh_1', ...overrides,
});

describe('webhook adapter against the simulated receiver', () => {
  it('posts the raw body with headers, and the signature verifies with the secret', async () => {
    const result = await createWebhookSender({ timeoutMs: 2_000, nowMs: () => NOW_MS }).send(request());
    expect(result).toEqual({ providerMessageId: null, responseStatus: 200 });
    const [received] = (await providers.sim.messages('webhook')).messages;
    expect(received).toMatchObject({
      path: '/webhooks/merchant-1', raw_body: RAW_BODY, event_id: 'evt_1', idempotency_key: 'dlv_wh_1',
      user_agent: WEBHOOK_USER_AGENT, content_type: 'application/json',
    });
    expect(received!.signature).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(received!.signature, SECRET, received!.raw_body, { nowSeconds: NOW_MS / 1_000 })).toEqual({ ok: true, timestampSeconds: 1_700_000_000 });
    expect(verifyWebhookSignature(received!.signature, 'whsec_other', received!.raw_body, { nowSeconds: NOW_MS / 1_000 }).ok).toBe(false);
  });

  it('signs at send time: a retry carries a fresh timestamp', async () => {
    let now = NOW_MS;
    const sender = createWebhookSender({ timeoutMs: 2_000, nowMs: () => now });
    await providers.sim.fault({ provider: 'webhook', mode: 'fail_times', times: 1, status: 500 });
    const failure = await failureOf(sender.send(request()));
    expect(failure).toMatchObject({ retryable: true, responseStatus: 500, code: 'provider_unavailable' });
    now += 3_600_000;
    await sender.send(request());
    const [received] = (await providers.sim.messages('webhook')).messages;
    expect(received!.signature).toMatch(/^t=1700003600,/);
    expect((await providers.sim.messages('webhook')).requests_received).toBe(2);
  });

  it('a failing receiver (any non-2xx but 410, or no answer) gives a retryable error', async () => {
    const sender = createWebhookSender({ timeoutMs: 300 });
    for (const status of [400, 404, 429, 500, 503]) {
      await providers.sim.fault({ provider: 'webhook', mode: 'fail_times', times: 1, status });
      expect(await failureOf(sender.send(request()))).toMatchObject({ retryable: true, responseStatus: status });
    }
    await providers.sim.fault({ provider: 'webhook', mode: 'delay', ms: 2_000, times: 1 });
    expect(await failureOf(sender.send(request()))).toMatchObject({ retryable: true, code: 'timeout' });
    const down = await failureOf(sender.send(request({ url: `http://127.0.0.1:${await closedPort()}/hook` })));
    expect(down).toMatchObject({ retryable: true, code: 'unreachable' });
  });

  it('410 Gone is not retried', async () => {
    await providers.sim.fault({ provider: 'webhook', mode: 'always', status: 410 });
    expect(await failureOf(createWebhookSender({ timeoutMs: 2_000 }).send(request()))).toMatchObject({ retryable: false, code: 'endpoint_gone', responseStatus: 410 });
  });

  it('never follows a redirect', async () => {
    const redirector: Server = createServer((_req, res) => {
      res.writeHead(307, { location: `${providers.url}/webhooks/redirected` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = redirector.address() as AddressInfo;
      const failure = await failureOf(createWebhookSender({ timeoutMs: 2_000 }).send(request({ url: `http://127.0.0.1:${port}/hook` })));
      expect(failure).toMatchObject({ retryable: true, responseStatus: 307 });
      expect((await providers.sim.messages('webhook')).requests_received).toBe(0);
    } finally {
      redirector.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  it('refuses a URL that is not http(s)', async () => {
    expect(await failureOf(createWebhookSender({ timeoutMs: 2_000 }).send(request({ url: 'file:///etc/passwd' })))).toMatchObject({ retryable: false });
  });
});
