import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../../domain/notifications/signature.js';
import { SecretBox } from '../../../platform/secrets.js';
import { closedPort, failureOf } from '../../../test/channels.js';
import { useProvidersSimulator } from '../../../test/simulators.js';
import { WEBHOOK_USER_AGENT, createWebhookSender, type WebhookSenderOptions } from './webhook.js';
import type { Resolver } from './webhook-http.js';

const providers = useProvidersSimulator();

const SECRET = 'whsec_test';
const box = new SecretBox([{ id: 'test', key: randomBytes(32) }]);
const RAW_BODY = '{"id":"evt_1","type":"payment.captured","data":{"amount":1050,"note":"café"}}';
const NOW_MS = 1_700_000_000_000;
const request = (overrides: Partial<{ url: string; sealedSecrets: string[]; idempotencyKey: string }> = {}) => ({
  url: `${providers.url}/webhooks/merchant-1`, sealedSecrets: [box.seal(SECRET)], eventId: 'evt_1', rawBody: RAW_BODY,
  idempotencyKey: 'dlv_wh_1', ...overrides,
});

/** A sender allowed to reach the simulated receiver (and `allow`: more host:port entries), as in development. */
function sender(options: Partial<WebhookSenderOptions> & { allow?: string[] } = {}) {
  const { allow = [], ...rest } = options;
  return createWebhookSender({
    timeoutMs: 2_000, secretBox: box,
    policy: { allowHttp: true, privateAllowlist: [new URL(providers.url).host, ...allow] },
    ...rest,
  });
}

/** A local HTTP server that counts the TCP connections it accepts and answers 200. */
async function countingServer(): Promise<{ port: number; connections: () => number; requests: { signature: string }[]; close(): Promise<void> }> {
  let connections = 0;
  const requests: { signature: string }[] = [];
  const server = createServer((req, res) => {
    requests.push({ signature: String(req.headers['steadfast-signature']) });
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port, connections: () => connections, requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('webhook adapter against the simulated receiver', () => {
  it('posts the raw body with headers, and the signature verifies with the secret', async () => {
    const result = await sender({ nowMs: () => NOW_MS }).send(request());
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
    const webhooks = sender({ nowMs: () => now });
    await providers.sim.fault({ provider: 'webhook', mode: 'fail_times', times: 1, status: 500 });
    const failure = await failureOf(webhooks.send(request()));
    expect(failure).toMatchObject({ retryable: true, responseStatus: 500, code: 'provider_unavailable' });
    now += 3_600_000;
    await webhooks.send(request());
    const [received] = (await providers.sim.messages('webhook')).messages;
    expect(received!.signature).toMatch(/^t=1700003600,/);
    expect((await providers.sim.messages('webhook')).requests_received).toBe(2);
  });

  it('a failing receiver (any non-2xx but 410, or no answer) gives a retryable error', async () => {
    const port = await closedPort();
    const webhooks = sender({ timeoutMs: 300, allow: [`127.0.0.1:${port}`] });
    for (const status of [400, 404, 429, 500, 503]) {
      await providers.sim.fault({ provider: 'webhook', mode: 'fail_times', times: 1, status });
      expect(await failureOf(webhooks.send(request()))).toMatchObject({ retryable: true, responseStatus: status });
    }
    await providers.sim.fault({ provider: 'webhook', mode: 'delay', ms: 2_000, times: 1 });
    expect(await failureOf(webhooks.send(request()))).toMatchObject({ retryable: true, code: 'timeout' });
    const down = await failureOf(webhooks.send(request({ url: `http://127.0.0.1:${port}/hook` })));
    expect(down).toMatchObject({ retryable: true, code: 'unreachable' });
  });

  it('410 Gone is not retried', async () => {
    await providers.sim.fault({ provider: 'webhook', mode: 'always', status: 410 });
    expect(await failureOf(sender().send(request()))).toMatchObject({ retryable: false, code: 'endpoint_gone', responseStatus: 410 });
  });

  it('never follows a redirect', async () => {
    const redirector: Server = createServer((_req, res) => {
      res.writeHead(307, { location: `${providers.url}/webhooks/redirected` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = redirector.address() as AddressInfo;
      const failure = await failureOf(sender({ allow: [`127.0.0.1:${port}`] }).send(request({ url: `http://127.0.0.1:${port}/hook` })));
      expect(failure).toMatchObject({ retryable: true, responseStatus: 307 });
      expect((await providers.sim.messages('webhook')).requests_received).toBe(0);
    } finally {
      redirector.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  it('refuses a URL that is not http(s)', async () => {
    expect(await failureOf(sender().send(request({ url: 'file:///etc/passwd' })))).toMatchObject({ retryable: false });
  });
});

describe('webhook adapter: secrets', () => {
  it('opens the sealed secrets only to sign: one v1 per secret during a rotation', async () => {
    await sender({ nowMs: () => NOW_MS }).send(request({ sealedSecrets: [box.seal('whsec_new'), box.seal('whsec_old')] }));
    const [received] = (await providers.sim.messages('webhook')).messages;
    expect(received!.signature).toMatch(/^t=1700000000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    for (const secret of ['whsec_new', 'whsec_old']) {
      expect(verifyWebhookSignature(received!.signature, secret, RAW_BODY, { nowSeconds: NOW_MS / 1_000 }).ok).toBe(true);
    }
    expect(JSON.stringify(received)).not.toContain('whsec_');
  });
});

describe('webhook adapter: SSRF policy at connect time', () => {
  const resolvesTo = (...addresses: string[]): Resolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('a name that now resolves to a private address gets no connection (DNS rebinding)', async () => {
    const server = await countingServer();
    try {
      // Created while `hooks.rebind.test` resolved publicly; at send time it answers loopback.
      const url = `http://hooks.rebind.test:${server.port}/hook`;
      for (const resolver of [resolvesTo('127.0.0.1'), resolvesTo('::1'), resolvesTo('8.8.8.8', '127.0.0.1'), resolvesTo('::ffff:127.0.0.1')]) {
        const failure = await failureOf(sender({ resolver }).send(request({ url })));
        expect(failure).toMatchObject({ retryable: false, code: 'address_refused' });
        expect(failure.message).toMatch(/resolves to a loopback address/);
      }
      // An IP literal host is refused before any lookup.
      const literal = await failureOf(sender().send(request({ url: `http://127.0.0.1:${server.port}/hook` })));
      expect(literal).toMatchObject({ retryable: false, code: 'address_refused' });
      expect(server.connections()).toBe(0);

      // The same name and port allowlisted: delivered (the server was there all along).
      await sender({ resolver: resolvesTo('127.0.0.1'), allow: [`hooks.rebind.test:${server.port}`] }).send(request({ url }));
      expect(server.connections()).toBe(1);
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('refuses http:// unless allowed, and metadata hosts even when they resolve', async () => {
    const strict = createWebhookSender({ timeoutMs: 2_000, secretBox: box, policy: { allowHttp: false, privateAllowlist: [] } });
    expect(await failureOf(strict.send(request({ url: 'http://hooks.example.com/x' })))).toMatchObject({ retryable: false, code: 'address_refused' });
    const metadata = await failureOf(sender({ resolver: resolvesTo('8.8.8.8') }).send(request({ url: 'http://metadata.google.internal/computeMetadata/v1' })));
    expect(metadata).toMatchObject({ code: 'address_refused' });
    const aws = await failureOf(sender().send(request({ url: 'http://169.254.169.254/latest/meta-data' })));
    expect(aws).toMatchObject({ code: 'address_refused' });
  });
});
