import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { providersControl } from '../../../simulators/providers/client.js';
import { startProvidersServer, type ProvidersServer } from '../../../simulators/providers/server.js';
import { createSmsSender, type SmsSenderOptions } from './sms.js';
import { DeliveryError } from './types.js';

let providers: ProvidersServer;
let sim: ReturnType<typeof providersControl>;

beforeAll(async () => {
  providers = await startProvidersServer({ port: 0, sms: { accountSid: 'AC_test', authToken: 'secret-token' } });
  sim = providersControl(providers.url);
});
afterAll(() => providers.close());
beforeEach(() => sim.reset());

const sender = (overrides: Partial<SmsSenderOptions> = {}) => createSmsSender({
  baseUrl: `${providers.url}/sms`, accountSid: 'AC_test', authToken: 'secret-token', from: '+15550000000', timeoutMs: 2_000, ...overrides,
});

async function failureOf(promise: Promise<unknown>): Promise<DeliveryError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

describe('SMS adapter against the Twilio-like simulator', () => {
  it('sends a form-encoded message and returns the sid', async () => {
    const result = await sender().send({ to: '+15551234567', body: 'Code: 1234 & more = fun', idempotencyKey: 'dlv_sms_1' });
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(result.responseStatus).toBe(201);
    const report = await sim.messages('sms');
    expect(report.messages).toEqual([expect.objectContaining({
      sid: result.providerMessageId, to: '+15551234567', from: '+15550000000', body: 'Code: 1234 & more = fun', idempotency_key: 'dlv_sms_1', attempts: 1,
    })]);
  });

  it('the same key twice: one message, the same sid', async () => {
    const first = await sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'dlv_sms_twice' });
    const again = await sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'dlv_sms_twice' });
    expect(again.providerMessageId).toBe(first.providerMessageId);
    const report = await sim.messages('sms');
    expect(report.requests_received).toBe(2);
    expect(report.messages).toHaveLength(1);
    expect(report.messages[0]?.attempts).toBe(2);
  });

  it('an invalid number (21211) fails for good; wrong credentials are retryable (auth_failed)', async () => {
    const invalid = await failureOf(sender().send({ to: '555-1234', body: 'Hi', idempotencyKey: 'dlv_sms_bad' }));
    expect(invalid).toMatchObject({ retryable: false, code: 'recipient_rejected', responseStatus: 400 });
    expect(invalid.message).toContain('21211');
    const auth = await failureOf(sender({ authToken: 'wrong' }).send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'dlv_sms_auth' }));
    expect(auth).toMatchObject({ retryable: true, code: 'auth_failed', responseStatus: 401 });
    expect((await sim.messages('sms')).messages).toHaveLength(0);
  });

  it('5xx and 429 are retryable; provider down is retryable', async () => {
    await sim.fault({ provider: 'sms', mode: 'fail_times', times: 1, status: 500 });
    expect(await failureOf(sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'k' }))).toMatchObject({ retryable: true, responseStatus: 500 });
    await sim.fault({ provider: 'sms', mode: 'fail_times', times: 1, status: 429 });
    expect(await failureOf(sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'k' }))).toMatchObject({ retryable: true, responseStatus: 429 });
    const down = await failureOf(sender({ baseUrl: `http://127.0.0.1:${await closedPort()}/sms` }).send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'k' }));
    expect(down).toMatchObject({ retryable: true, code: 'unreachable' });
  });
});

/** A port nothing listens on (port 1 is on fetch's blocked list, so it would not test a refused connection). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
