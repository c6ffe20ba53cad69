import { describe, expect, it } from 'vitest';
import { closedPort, failureOf } from '../../../test/channels.js';
import { useProvidersSimulator } from '../../../test/simulators.js';
import { createSmsSender, type SmsSenderOptions } from './sms.js';

const providers = useProvidersSimulator({ sms: { accountSid: 'AC_test', authToken: 'secret-token' } });

const sender = (overrides: Partial<SmsSenderOptions> = {}) => createSmsSender({
  baseUrl: `${providers.url}/sms`, accountSid: 'AC_test', authToken: 'secret-token', from: '+15550000000', timeoutMs: 2_000, ...overrides,
});

describe('SMS adapter against the Twilio-like simulator', () => {
  it('sends a form-encoded message and returns the sid', async () => {
    const result = await sender().send({ to: '+15551234567', body: 'Code: 1234 & more = fun', idempotencyKey: 'dlv_sms_1' });
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(result.responseStatus).toBe(201);
    const report = await providers.sim.messages('sms');
    expect(report.messages).toEqual([expect.objectContaining({
      sid: result.providerMessageId, to: '+15551234567', from: '+15550000000', body: 'Code: 1234 & more = fun', idempotency_key: 'dlv_sms_1', attempts: 1,
    })]);
  });

  it('the same key twice: one message, the same sid', async () => {
    const first = await sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'dlv_sms_twice' });
    const again = await sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'dlv_sms_twice' });
    expect(again.providerMessageId).toBe(first.providerMessageId);
    const report = await providers.sim.messages('sms');
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
    expect((await providers.sim.messages('sms')).messages).toHaveLength(0);
  });

  it('5xx and 429 are retryable; provider down is retryable', async () => {
    await providers.sim.fault({ provider: 'sms', mode: 'fail_times', times: 1, status: 500 });
    expect(await failureOf(sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'k' }))).toMatchObject({ retryable: true, responseStatus: 500 });
    await providers.sim.fault({ provider: 'sms', mode: 'fail_times', times: 1, status: 429 });
    expect(await failureOf(sender().send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'k' }))).toMatchObject({ retryable: true, responseStatus: 429 });
    const down = await failureOf(sender({ baseUrl: `http://127.0.0.1:${await closedPort()}/sms` }).send({ to: '+15551234567', body: 'Hi', idempotencyKey: 'k' }));
    expect(down).toMatchObject({ retryable: true, code: 'unreachable' });
  });
});
