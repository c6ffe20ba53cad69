import { describe, expect, it } from 'vitest';
import { failureOf } from '../../../test/channels.js';
import { eventually } from '../../../test/eventually.js';
import { useProvidersSimulator } from '../../../test/simulators.js';
import { createPushSender } from './push.js';

const providers = useProvidersSimulator();

/** Batches of `batchSize` messages; a lone rest waits `windowMs` (short here) for company. */
const sender = (batchSize = 2, timeoutMs = 2_000, windowMs = 20) => createPushSender({ baseUrl: `${providers.url}/push`, batchSize, windowMs, timeoutMs });
const message = (tokens: string[], idempotencyKey = 'dlv_push') => ({ tokens, title: 'Money received', body: 'You got 10 EUR', idempotencyKey });

describe('push adapter against the FCM-like simulator', () => {
  it('sends 5 tokens in batches of 2: 3 calls, each message keyed by its delivery (per token at the provider), every token once', async () => {
    const result = await sender(2).send(message(['t1', 't2', 't3', 't4', 't5']));
    expect(result).toMatchObject({ responseStatus: 200, rejectedTokens: [] });
    expect(result.providerMessageId).toMatch(/^projects\/steadfast-sim\/messages\//);
    const report = await providers.sim.messages('push');
    expect(report.requests_received).toBe(3);
    // The calls go out concurrently: they may arrive in any order.
    expect([...report.send_each_calls!].sort()).toEqual([1, 2, 2]);
    expect(report.messages.map((m) => [m.token, m.idempotency_key]).sort()).toEqual([
      ['t1', 'dlv_push'], ['t2', 'dlv_push'], ['t3', 'dlv_push'], ['t4', 'dlv_push'], ['t5', 'dlv_push'],
    ]);
    expect(report.messages.every((m) => m.title === 'Money received' && m.body === 'You got 10 EUR')).toBe(true);
  });

  it('batches ACROSS messages: three notifications inside one window share one provider call, each with its own text and key', async () => {
    const push = sender(10, 2_000, 300);
    const results = await Promise.all(['a', 'b', 'c'].map((n) => push.send({ tokens: [`tok_${n}`], title: `T ${n}`, body: `B ${n}`, idempotencyKey: `dlv_${n}` })));
    expect(results.map((r) => r.rejectedTokens)).toEqual([[], [], []]);
    const report = await providers.sim.messages('push');
    expect(report.send_each_calls).toEqual([3]);
    expect(report.messages.map((m) => [m.token, m.idempotency_key, m.title]).sort()).toEqual([
      ['tok_a', 'dlv_a', 'T a'], ['tok_b', 'dlv_b', 'T b'], ['tok_c', 'dlv_c', 'T c'],
    ]);
  });

  it('a full batch goes at once; a lone message waits for the window; sendEach with flush does not wait', async () => {
    const push = sender(3, 2_000, 1_500);
    let startedMs = Date.now();
    await push.send(message(['f1', 'f2', 'f3'], 'dlv_full'));
    expect(Date.now() - startedMs).toBeLessThan(1_000);
    startedMs = Date.now();
    await push.send(message(['w1'], 'dlv_lone'));
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(1_400);
    startedMs = Date.now();
    const each = await push.sendEach([{ token: 'bad_gone', title: 't', body: 'b', idempotencyKey: 'bc_1:u1' }, { token: 'e1', title: 't', body: 'b', idempotencyKey: 'bc_1:u2' }], { flush: true });
    expect(Date.now() - startedMs).toBeLessThan(1_000);
    expect(each).toEqual([
      { token: 'bad_gone', error: 'UNREGISTERED', permanent: true },
      { token: 'e1', messageId: expect.stringMatching(/^projects\//) },
    ]);
    expect((await providers.sim.messages('push')).send_each_calls).toEqual([3, 1, 2]);
  });

  it('a broadcast page (sendEach with flush) takes a single notification waiting in the window along in its call', async () => {
    const push = sender(10, 2_000, 60_000);
    const single = push.send(message(['s1'], 'dlv_single'));
    const page = await push.sendEach([1, 2, 3].map((i) => ({ token: `p${i}`, title: 'News', body: 'Hi', idempotencyKey: `bc_1.u${i}.push` })), { flush: true });
    expect(page.every((r) => 'messageId' in r)).toBe(true);
    await expect(single).resolves.toMatchObject({ rejectedTokens: [] });
    const report = await providers.sim.messages('push');
    expect(report.send_each_calls).toEqual([4]);
    expect(report.messages.map((m) => [m.token, m.idempotency_key, m.title]).sort()).toEqual([
      ['p1', 'bc_1.u1.push', 'News'], ['p2', 'bc_1.u2.push', 'News'], ['p3', 'bc_1.u3.push', 'News'], ['s1', 'dlv_single', 'Money received'],
    ]);
  });

  it('close sends what waits for its window', async () => {
    const push = sender(10, 2_000, 60_000);
    const sent = push.send(message(['c1'], 'dlv_close'));
    await push.close();
    await expect(sent).resolves.toMatchObject({ rejectedTokens: [] });
    expect((await providers.sim.messages('push')).send_each_calls).toEqual([1]);
  });

  it('a resent message sends nothing twice; duplicate tokens are sent once', async () => {
    await sender(2).send(message(['t1', 't2', 't1', 't3']));
    await sender(2).send(message(['t1', 't2', 't1', 't3']));
    const report = await providers.sim.messages('push');
    expect(report.requests_received).toBe(4);
    expect(report.messages.map((m) => [m.token, m.attempts]).sort()).toEqual([['t1', 2], ['t2', 2], ['t3', 2]]);
  });

  it('unregistered tokens come back as rejectedTokens; all rejected fails for good', async () => {
    const result = await sender(2).send(message(['bad_old', 't1', 'bad_older']));
    expect(result.rejectedTokens).toEqual(['bad_old', 'bad_older']);
    const failure = await failureOf(sender(2).send(message(['bad_1', 'bad_2', 'bad_3'], 'dlv_all_bad')));
    expect(failure).toMatchObject({ retryable: false, code: 'tokens_unregistered' });
    await expect(sender(2).send(message([]))).rejects.toMatchObject({ retryable: false });
  });

  it('a 5xx is retryable, and the retry re-sends only what the provider has not accepted', async () => {
    // The first call (t1, t2) goes through; the second (t3, after the window) meets the fault.
    const push = sender(2, 2_000, 500);
    const first = push.send(message(['t1', 't2', 't3']));
    await eventually(async () => (await providers.sim.messages('push')).messages.length, (n) => n === 2);
    await providers.sim.fault({ provider: 'push', mode: 'fail_times', times: 1, status: 503 });
    const failure = await failureOf(first);
    expect(failure).toMatchObject({ retryable: true, code: 'provider_unavailable', responseStatus: 503 });
    await push.send(message(['t1', 't2', 't3']));
    const report = await providers.sim.messages('push');
    expect(report.messages.map((m) => [m.token, m.attempts]).sort()).toEqual([['t1', 2], ['t2', 2], ['t3', 1]]);
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
    expect(() => createPushSender({ baseUrl: 'http://x', batchSize: 1_001, windowMs: 0, timeoutMs: 1_000 })).toThrow(RangeError);
  });
});
