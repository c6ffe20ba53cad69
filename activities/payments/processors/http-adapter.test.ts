import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processorsControl } from '../../../simulators/processors/client.js';
import { startProcessorsServer, type ProcessorsServer } from '../../../simulators/processors/server.js';
import { freePort } from '../../../platform/temporal-dev-server.js';
import { ProcessorDeclined, ProcessorOutcomeUnknown, ProcessorRequestRejected, ProcessorUnavailable } from './errors.js';
import { createHttpProcessorAdapter } from './http-adapter.js';
import type { AuthorizeRequest, ProcessorAdapter } from './types.js';

let server: ProcessorsServer;
let sim: ReturnType<typeof processorsControl>;
let primary: ProcessorAdapter;
let secondary: ProcessorAdapter;
let bank: ProcessorAdapter;
let n = 0;
const TIMEOUT_MS = 300;

beforeAll(async () => {
  server = await startProcessorsServer({ port: 0 });
  sim = processorsControl(server.url);
  const adapter = (processor: string) => createHttpProcessorAdapter({ baseUrl: server.url, processor, timeoutMs: TIMEOUT_MS });
  [primary, secondary, bank] = [adapter('acq_primary'), adapter('acq_secondary'), adapter('bank_sim')];
});
afterAll(() => server.close());
beforeEach(() => sim.reset());

function card(token: string, amountMinor = 2_500): AuthorizeRequest {
  return { idempotencyKey: `pay_${++n}:authorize`, method: 'card', token, amountMinor, currency: 'EUR' };
}

async function declineOf(promise: Promise<unknown>): Promise<ProcessorDeclined> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProcessorDeclined);
  return err as ProcessorDeclined;
}

describe('HTTP processor adapter: tokens', () => {
  it.each([
    ['tok_visa', 'visa', '4242'],
    ['tok_mastercard', 'mastercard', '4444'],
  ])('%s approves with its brand and last4', async (token, brand, last4) => {
    const auth = await primary.authorize(card(token));
    expect(auth).toMatchObject({ processor: 'acq_primary', method: 'card', amountMinor: 2_500, currency: 'EUR', brand, last4 });
    expect(auth.id).toMatch(/^auth_/);
  });

  it.each([
    ['tok_card_declined', 'card_declined', undefined],
    ['tok_insufficient_funds', 'card_declined', 'insufficient_funds'],
    ['tok_expired_card', 'expired_card', undefined],
    ['tok_never_issued', 'card_declined', 'unknown_token'],
  ])('%s is declined: %s / %s', async (token, failureCode, declineCode) => {
    const declined = await declineOf(primary.authorize(card(token)));
    expect(declined).toMatchObject({ processor: 'acq_primary', operation: 'authorize', failureCode, declineCode, retryable: false });
    expect(declined.authorizationId).toMatch(/^auth_/);
  });

  it('tok_processor_error: acq_primary answers 500 and records nothing; acq_secondary approves', async () => {
    await expect(primary.authorize(card('tok_processor_error'))).rejects.toBeInstanceOf(ProcessorUnavailable);
    expect((await sim.charges('acq_primary')).authorizations).toHaveLength(0);
    expect(await secondary.authorize(card('tok_processor_error'))).toMatchObject({ processor: 'acq_secondary', brand: 'visa' });
  });

  it('tok_capture_fails: capture is declined for good (capture_failed), then void works', async () => {
    const auth = await primary.authorize(card('tok_capture_fails'));
    const capture = { idempotencyKey: 'cf:capture', authorizationId: auth.id, amountMinor: 2_500 };
    const declined = await declineOf(primary.capture(capture));
    expect(declined).toMatchObject({ operation: 'capture', failureCode: 'capture_failed' });
    // Permanent: the retry with the same key gets the same answer.
    expect((await declineOf(primary.capture(capture))).failureCode).toBe('capture_failed');
    expect(await primary.void({ idempotencyKey: 'cf:void', authorizationId: auth.id })).toMatchObject({ authorizationId: auth.id });
    const [record] = (await sim.charges('acq_primary')).authorizations;
    expect(record).toMatchObject({ voided: true, amount_captured: 0 });
  });

  it('tok_lost_response: no answer the first time (outcome unknown), the same authorization on retry and by lookup', async () => {
    const request = card('tok_lost_response');
    await expect(primary.authorize(request)).rejects.toBeInstanceOf(ProcessorOutcomeUnknown);
    const found = await primary.lookup('authorize', request.idempotencyKey);
    const retried = await primary.authorize(request);
    expect(found).toEqual(retried);
    expect((await sim.charges('acq_primary')).authorizations.map((a) => a.id)).toEqual([retried.id]);
  });

  it('bank tokens: btok_success approves, btok_insufficient_funds is declined (bank_declined)', async () => {
    const request = { ...card('btok_success'), method: 'bank_transfer' as const };
    expect(await bank.authorize(request)).toMatchObject({ processor: 'bank_sim', method: 'bank_transfer', last4: '6789' });
    const declined = await declineOf(bank.authorize({ ...request, idempotencyKey: 'b2:authorize', token: 'btok_insufficient_funds' }));
    expect(declined).toMatchObject({ failureCode: 'bank_declined', declineCode: 'insufficient_funds' });
  });
});

describe('HTTP processor adapter: follow-ups, lookups and transport', () => {
  it('captures, refunds within the captured amount, and rejects a refund above it', async () => {
    const auth = await primary.authorize(card('tok_visa', 1_000));
    expect(await primary.capture({ idempotencyKey: 'c:capture', authorizationId: auth.id, amountMinor: 1_000 })).toMatchObject({ amountMinor: 1_000 });
    expect(await primary.refund({ idempotencyKey: 'c:refund:1', authorizationId: auth.id, amountMinor: 400 })).toMatchObject({ amountMinor: 400 });
    const tooMuch = primary.refund({ idempotencyKey: 'c:refund:2', authorizationId: auth.id, amountMinor: 601 });
    await expect(tooMuch).rejects.toMatchObject({ name: 'ProcessorRequestRejected', reason: 'amount_too_large', retryable: false });
  });

  it('lookup: null for a key never received; a recorded decline throws as the call did; another kind is rejected', async () => {
    expect(await primary.lookup('authorize', 'never-sent')).toBeNull();
    const request = card('tok_expired_card');
    await declineOf(primary.authorize(request));
    expect((await declineOf(primary.lookup('authorize', request.idempotencyKey))).failureCode).toBe('expired_card');
    await expect(primary.lookup('capture', request.idempotencyKey)).rejects.toBeInstanceOf(ProcessorRequestRejected);
  });

  it('a held response is an unknown outcome after timeoutMs; the request was applied', async () => {
    // Held far longer than the adapter waits: had it waited for the answer, it would have got the
    // approval instead of an unknown outcome (no upper time limit needed; the sim ends the hold on close).
    await sim.fault('acq_primary', 'timeout', 1, 60_000);
    const request = card('tok_visa');
    const started = performance.now();
    await expect(primary.authorize(request)).rejects.toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 1); // gave up on its own timeout, not at once
    expect(await primary.lookup('authorize', request.idempotencyKey)).toMatchObject({ processor: 'acq_primary' });
  });

  it('connection refused is unavailable: nothing was sent', async () => {
    const nowhere = createHttpProcessorAdapter({ baseUrl: `http://127.0.0.1:${await freePort()}`, processor: 'acq_primary', timeoutMs: 300 });
    await expect(nowhere.authorize(card('tok_visa'))).rejects.toBeInstanceOf(ProcessorUnavailable);
  });
});
