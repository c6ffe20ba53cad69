import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { metrics } from '../../../platform/metrics.js';
import { processorsControl } from '../../../simulators/processors/client.js';
import { startProcessorsServer, type ProcessorsServer } from '../../../simulators/processors/server.js';
import { ProcessorDeclined, ProcessorOutcomeUnknown, ProcessorRequestRejected, ProcessorUnavailable } from './errors.js';
import { createHttpProcessorAdapter } from './http-adapter.js';
import { SIMULATED_PROCESSORS } from './index.js';
import { createProcessorRouter, type ProcessorRouter } from './router.js';
import type { AuthorizeRequest } from './types.js';

const HALF_OPEN_MS = 400;
let server: ProcessorsServer;
let sim: ReturnType<typeof processorsControl>;
let router: ProcessorRouter;
let n = 0;

function newRouter(): ProcessorRouter {
  return createProcessorRouter({
    adapters: SIMULATED_PROCESSORS.map((processor) => createHttpProcessorAdapter({ baseUrl: server.url, processor, timeoutMs: 300 })),
    routes: { card: { '*': ['acq_primary', 'acq_secondary'], JPY: ['acq_secondary'] }, bank_transfer: { '*': ['bank_sim'] }, wallet: {} },
    breaker: { consecutiveFailures: 3, halfOpenAfterMs: HALF_OPEN_MS },
  });
}

beforeAll(async () => {
  server = await startProcessorsServer({ port: 0 });
  sim = processorsControl(server.url);
});
afterAll(() => server.close());
beforeEach(async () => {
  await sim.reset();
  router = newRouter(); // fresh breakers per test
});

function card(token: string, currency = 'USD'): AuthorizeRequest {
  return { idempotencyKey: `pay_r${++n}:authorize`, method: 'card', token, amountMinor: 4_200, currency };
}

async function authorizationsAt(processor: 'acq_primary' | 'acq_secondary' | 'bank_sim', key?: string) {
  const { authorizations } = await sim.charges(processor);
  return key === undefined ? authorizations : authorizations.filter((a) => a.idempotency_key === key);
}

describe('processor router: authorization', () => {
  it('routes by method and currency, and says which processor authorized', async () => {
    expect((await router.authorize(card('tok_visa'))).processor).toBe('acq_primary');
    expect((await router.authorize(card('tok_visa', 'JPY'))).processor).toBe('acq_secondary');
    const bank = await router.authorize({ ...card('btok_success'), method: 'bank_transfer' });
    expect(bank.processor).toBe('bank_sim');
    await expect(router.authorize(card('tok_card_declined'))).rejects.toMatchObject({ name: 'ProcessorDeclined', failureCode: 'card_declined' });
  });

  it('a decline is final: no failover, the secondary never sees it', async () => {
    await expect(router.authorize(card('tok_insufficient_funds'))).rejects.toBeInstanceOf(ProcessorDeclined);
    expect((await sim.charges('acq_secondary')).requests_received).toBe(0);
  });

  it('tok_processor_error: primary answers 500, acq_secondary authorizes', async () => {
    const request = card('tok_processor_error');
    const auth = await router.authorize(request);
    expect(auth).toMatchObject({ processor: 'acq_secondary', brand: 'visa', last4: '4242' });
    expect(await authorizationsAt('acq_primary')).toHaveLength(0);
    expect((await authorizationsAt('acq_secondary', request.idempotencyKey)).map((a) => a.id)).toEqual([auth.id]);
  });

  it('tok_lost_response: one authorization, exactly one charge at the processor', async () => {
    const request = card('tok_lost_response');
    const auth = await router.authorize(request);
    expect(auth.processor).toBe('acq_primary');
    const charges = await authorizationsAt('acq_primary', request.idempotencyKey);
    expect(charges.map((a) => a.id)).toEqual([auth.id]);
    expect(await authorizationsAt('acq_secondary')).toHaveLength(0);
    expect((await sim.charges('acq_primary')).lookups_received).toBe(1);
  });

  it('a timeout with unknown outcome is resolved by lookup at the same processor, not by a second charge', async () => {
    await sim.fault('acq_primary', 'timeout', 1, 3_000);
    const request = card('tok_visa');
    const auth = await router.authorize(request);
    expect(auth.processor).toBe('acq_primary');
    expect((await authorizationsAt('acq_primary', request.idempotencyKey)).map((a) => a.id)).toEqual([auth.id]);
    expect((await sim.charges('acq_secondary')).requests_received).toBe(0);
    expect(await sim.charges('acq_primary')).toMatchObject({ requests_received: 2, lookups_received: 1 });
  });

  it('when the lookup fails too, it throws a retryable unknown outcome and charges nowhere else', async () => {
    await sim.fault('acq_primary', 'timeout', 2, 3_000);
    const err = await router.authorize(card('tok_visa')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(err).toMatchObject({ processor: 'acq_primary', retryable: true });
    expect((await sim.charges('acq_secondary')).requests_received).toBe(0);
  });

  it('a request lost before arriving (no record) is sent again to the same processor with the same key', async () => {
    await sim.fault('acq_primary', 'drop', 1);
    const request = card('tok_mastercard');
    const auth = await router.authorize(request);
    expect(auth).toMatchObject({ processor: 'acq_primary', brand: 'mastercard' });
    // Dropped, looked up (no record), sent again.
    expect(await sim.charges('acq_primary')).toMatchObject({ requests_received: 3, lookups_received: 1 });
    expect(await authorizationsAt('acq_primary', request.idempotencyKey)).toHaveLength(1);
  });

  it('lost twice without a record: a retryable unknown outcome, never a second authorization elsewhere; the retry finds or makes it at the same processor', async () => {
    await sim.fault('acq_primary', 'drop', 2);
    const request = card('tok_visa');
    const sentTo: string[] = [];
    const err = await router.authorize(request, { onSend: (processor) => sentTo.push(processor) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(err).toMatchObject({ processor: 'acq_primary', retryable: true });
    expect((await sim.charges('acq_secondary')).requests_received).toBe(0);
    const retried = await router.authorize(request, { previouslySentTo: [...new Set(sentTo)] });
    expect(retried).toMatchObject({ processor: 'acq_primary' });
    expect(await authorizationsAt('acq_primary', request.idempotencyKey)).toHaveLength(1);
    expect(await authorizationsAt('acq_secondary', request.idempotencyKey)).toHaveLength(0);
  });

  it('a retried activity passing previouslySentTo gets the earlier charge back, wherever the route points now', async () => {
    const request = card('tok_processor_error'); // lands at acq_secondary
    const sentTo: string[] = []; // what an activity would heartbeat
    const first = await router.authorize(request, { onSend: (processor) => sentTo.push(processor) });
    expect(sentTo).toEqual(['acq_primary', 'acq_secondary']);
    const retried = await router.authorize(request, { previouslySentTo: sentTo });
    expect(retried).toEqual(first);
    expect(await authorizationsAt('acq_primary')).toHaveLength(0);
    expect(await authorizationsAt('acq_secondary', request.idempotencyKey)).toHaveLength(1);
  });

  it('a route that names no processor for the method and currency is rejected', async () => {
    const narrow = createProcessorRouter({
      adapters: [createHttpProcessorAdapter({ baseUrl: server.url, processor: 'bank_sim', timeoutMs: 300 })],
      routes: { card: {}, bank_transfer: { EUR: ['bank_sim'] }, wallet: {} },
      breaker: { consecutiveFailures: 3, halfOpenAfterMs: HALF_OPEN_MS },
    });
    await expect(narrow.authorize(card('tok_visa'))).rejects.toMatchObject({ name: 'ProcessorRequestRejected', reason: 'processor_route_missing' });
    expect(() => createProcessorRouter({ adapters: [], routes: { card: { '*': ['acq_x'] }, bank_transfer: {}, wallet: {} }, breaker: { consecutiveFailures: 1, halfOpenAfterMs: 100 } }))
      .toThrow(/acq_x/);
  });
});

/** The processor's value of the circuit breaker gauge of /metrics. */
async function breakerGauge(processor: string): Promise<number | undefined> {
  const { values } = await metrics.circuitBreakerState.get();
  return values.find((v) => v.labels.breaker === processor)?.value;
}

describe('processor router: circuit breakers', () => {
  it('primary 500 ×3 opens its breaker; later calls go to the secondary without touching the primary', async () => {
    await sim.fault('acq_primary', 'error_500', 3);
    for (let i = 0; i < 3; i++) expect((await router.authorize(card('tok_visa'))).processor).toBe('acq_secondary');
    expect(router.breakerStates()).toEqual({ acq_primary: 'open', acq_secondary: 'closed', bank_sim: 'closed' });
    expect(await breakerGauge('acq_primary')).toBe(2);
    const sentTo: string[] = [];
    for (let i = 0; i < 4; i++) {
      expect((await router.authorize(card('tok_visa'), { onSend: (p) => sentTo.push(p) })).processor).toBe('acq_secondary');
    }
    expect(sentTo).toEqual(['acq_secondary', 'acq_secondary', 'acq_secondary', 'acq_secondary']);
    expect((await sim.charges('acq_primary')).requests_received).toBe(3);
    expect(await authorizationsAt('acq_secondary')).toHaveLength(7);

    // After the half-open delay one trial call reaches the (recovered) primary and closes the breaker.
    await new Promise((r) => setTimeout(r, HALF_OPEN_MS + 50));
    expect((await router.authorize(card('tok_visa'))).processor).toBe('acq_primary');
    expect(router.breakerStates().acq_primary).toBe('closed');
    expect(await breakerGauge('acq_primary')).toBe(0);
  });

  it('declines do not count against a processor', async () => {
    for (let i = 0; i < 4; i++) await router.authorize(card('tok_card_declined')).catch(() => undefined);
    expect(router.breakerStates().acq_primary).toBe('closed');
  });

  it('with every processor of the route down, authorization is unavailable (retryable)', async () => {
    await sim.fault('bank_sim', 'error_500', 1);
    const err = await router.authorize({ ...card('btok_success'), method: 'bank_transfer' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessorUnavailable);
    expect(err).toMatchObject({ processor: null, retryable: true });
  });
});

describe('processor router: capture, void and refund stay at the authorizing processor', () => {
  it('tok_capture_fails: capture is declined (capture_failed), void then works', async () => {
    const auth = await router.authorize(card('tok_capture_fails'));
    const capture = router.capture(auth.processor, { idempotencyKey: 'cf:capture', authorizationId: auth.id, amountMinor: 4_200 });
    await expect(capture).rejects.toMatchObject({ name: 'ProcessorDeclined', operation: 'capture', failureCode: 'capture_failed' });
    expect(await router.void(auth.processor, { idempotencyKey: 'cf:void', authorizationId: auth.id })).toMatchObject({ processor: 'acq_primary' });
    expect((await authorizationsAt('acq_primary'))[0]).toMatchObject({ voided: true, amount_captured: 0 });
  });

  it('captures and refunds where it authorized; an outage there is unavailable, never a failover', async () => {
    const auth = await router.authorize(card('tok_processor_error')); // at acq_secondary
    await sim.fault('acq_secondary', 'error_500', 1);
    const captureRequest = { idempotencyKey: 'x:capture', authorizationId: auth.id, amountMinor: 4_000 };
    await expect(router.capture(auth.processor, captureRequest)).rejects.toMatchObject({ name: 'ProcessorUnavailable', processor: 'acq_secondary' });
    expect(await router.capture(auth.processor, captureRequest)).toMatchObject({ amountMinor: 4_000 });
    await sim.fault('acq_secondary', 'timeout', 1, 3_000);
    const refund = await router.refund(auth.processor, { idempotencyKey: 'x:refund:re_1', authorizationId: auth.id, amountMinor: 1_500 });
    expect(refund).toMatchObject({ processor: 'acq_secondary', amountMinor: 1_500 });
    expect((await authorizationsAt('acq_secondary'))[0]).toMatchObject({ amount_captured: 4_000, amount_refunded: 1_500 });
    expect((await sim.charges('acq_primary')).requests_received).toBe(1); // only the tok_processor_error 500
    await expect(router.capture('acq_nowhere', captureRequest)).rejects.toBeInstanceOf(ProcessorRequestRejected);
  });
});
