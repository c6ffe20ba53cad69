import { describe, expect, it } from 'vitest';
import { failureOf } from '../../../test/channels.js';
import { useProvidersSimulator } from '../../../test/simulators.js';
import { createPushSender } from './push.js';

const providers = useProvidersSimulator();

const sender = (batchSize = 2, timeoutMs = 2_000) => createPushSender({ baseUrl: `${providers.url}/push`, batchSize, timeoutMs });
const message = (tokens: string[], idempotencyKey = 'dlv_push') => ({ tokens, title: 'Money received', body: 'You got 10 EUR', idempotencyKey });

describe('push adapter against the FCM-like simulator', () => {
  it('sends 5 tokens in batches of 2: 3 calls, keyed <key>:<batch>, every token once', async () => {
    const result = await sender(2).send(message(['t1', 't2', 't3', 't4', 't5']));
    expect(result).toMatchObject({ responseStatus: 200, rejectedTokens: [] });
    expect(result.providerMessageId).toMatch(/^projects\/steadfast-sim\/messages\//);
    const report = await providers.sim.messages('push');
    expect(report.requests_received).toBe(3);
    expect(report.messages.map((m) => [m.token, m.idempotency_key])).toEqual([
      ['t1', 'dlv_push:0'], ['t2', 'dlv_push:0'], ['t3', 'dlv_push:1'], ['t4', 'dlv_push:1'], ['t5', 'dlv_push:2'],
    ]);
    expect(report.messages.every((m) => m.title === 'Money received' && m.body === 'You got 10 EUR')).toBe(true);
  });

  it('a resent message sends nothing twice; duplicate tokens are sent once', async () => {
    await sender(2).send(message(['t1', 't2', 't1', 't3']));
    await sender(2).send(message(['t1', 't2', 't1', 't3']));
    const report = await providers.sim.messages('push');
    expect(report.requests_received).toBe(4);
    expect(report.messages.map((m) => [m.token, m.attempts])).toEqual([['t1', 2], ['t2', 2], ['t3', 2]]);
  });

  it('unregistered tokens come back as rejectedTokens; all rejected fails for good', async () => {
    const result = await sender(2).send(message(['bad_old', 't1', 'bad_older']));
    expect(result.rejectedTokens).toEqual(['bad_old', 'bad_older']);
    const failure = await failureOf(sender(2).send(message(['bad_1', 'bad_2', 'bad_3'], 'dlv_all_bad')));
    expect(failure).toMatchObject({ retryable: false, code: 'tokens_unregistered' });
    await expect(sender(2).send(message([]))).rejects.toMatchObject({ retryable: false });
  });

  it('a 5xx is retryable, and the retry re-sends only what the provider has not accepted', async () => {
    // Batch 0 goes through, batch 1 meets the fault: the attempt fails.
    await providers.sim.fault({ provider: 'push', mode: 'fail_times', times: 1, status: 503 });
    await providers.sim.fault({ provider: 'push', mode: 'fail_times', times: 1, status: 503 });
    const failure = await failureOf(sender(2).send(message(['t1', 't2', 't3'])));
    expect(failure).toMatchObject({ retryable: true, code: 'provider_unavailable', responseStatus: 503 });
    await sender(2).send(message(['t1', 't2', 't3']));
    const report = await providers.sim.messages('push');
    expect(report.messages.map((m) => m.token)).toEqual(['t1', 't2', 't3']);
  });

  it('no answer in time is retryable (timeout)', async () => {
    await providers.sim.fault({ provider: 'push', mode: 'delay', ms: 1_000, times: 1 });
    const failure = await failureOf(sender(2, 200).send(message(['t1'])));
    expect(failure).toMatchObject({ retryable: true, code: 'timeout' });
  });

  it('a 400 is not retryable', async () => {
    await providers.sim.fault({ provider: 'push', mode: 'always', status: 400 });
    expect(await failureOf(sender(2).send(message(['t1'])))).toMatchObject({ retryable: false, code: 'rejected', responseStatus: 400 });
  });

  it('refuses a batch size the API cannot take', () => {
    expect(() => createPushSender({ baseUrl: 'http://x', batchSize: 1_001, timeoutMs: 1_000 })).toThrow(RangeError);
  });
});
