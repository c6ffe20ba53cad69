import { describe, expect, it } from 'vitest';
import { useProcessorsSimulator } from '../../test/simulators.js';

const server = useProcessorsSimulator();

async function post(path: string, body: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(2_000),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const authorize = (processor: string, key: string, token: string, amount = 1_000, method = 'card') =>
  post(`/processors/${processor}/authorizations`, { idempotency_key: key, method, token, amount, currency: 'USD' });

describe('simulated processors: idempotency by key', () => {
  it('same key and request: the same authorization, recorded once', async () => {
    const first = await authorize('acq_primary', 'k-same', 'tok_visa');
    const again = await authorize('acq_primary', 'k-same', 'tok_visa');
    expect(first.status).toBe(200);
    expect(again).toEqual(first);
    expect(first.body).toMatchObject({ status: 'authorized', brand: 'visa', last4: '4242', amount: 1_000 });
    const record = await server.sim.charges('acq_primary');
    expect(record.authorizations.map((a) => a.idempotency_key)).toEqual(['k-same']);
    expect(record.requests_received).toBe(2);
  });

  it('same key, another amount: 422 and nothing new', async () => {
    await authorize('acq_primary', 'k-reuse', 'tok_visa', 1_000);
    const reused = await authorize('acq_primary', 'k-reuse', 'tok_visa', 2_000);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    expect((await server.sim.charges('acq_primary')).authorizations).toHaveLength(1);
  });

  it('keys are per processor: each has its own books', async () => {
    const primary = await authorize('acq_primary', 'k-shared', 'tok_visa');
    const secondary = await authorize('acq_secondary', 'k-shared', 'tok_visa');
    expect(secondary.body.id).not.toBe(primary.body.id);
  });

  it('capture, void and refund replay by key too', async () => {
    const auth = await authorize('acq_primary', 'k-cap', 'tok_visa', 1_000);
    const path = `/processors/acq_primary/authorizations/${auth.body.id}`;
    const capture = await post(`${path}/capture`, { idempotency_key: 'k-cap:capture', amount: 800 });
    expect(capture.body).toMatchObject({ status: 'succeeded', amount: 800 });
    expect(await post(`${path}/capture`, { idempotency_key: 'k-cap:capture', amount: 800 })).toEqual(capture);
    expect((await post(`${path}/capture`, { idempotency_key: 'k-cap:capture2', amount: 100 })).status).toBe(409);
    expect((await post(`${path}/refunds`, { idempotency_key: 'k-cap:refund:1', amount: 900 })).status).toBe(400);
    expect((await post(`${path}/refunds`, { idempotency_key: 'k-cap:refund:1', amount: 300 })).body.status).toBe('succeeded');
    expect((await post(`${path}/refunds`, { idempotency_key: 'k-cap:refund:1', amount: 300 })).status).toBe(200);
    const [record] = (await server.sim.charges('acq_primary')).authorizations;
    expect(record).toMatchObject({ amount_captured: 800, amount_refunded: 300, voided: false });
    expect(record?.operations.map((o) => o.kind)).toEqual(['capture', 'refund']);
  });
});

describe('simulated processors: requests and faults', () => {
  it('rejects bad requests and methods a processor does not take', async () => {
    expect((await authorize('acq_primary', 'k-bad', 'tok_visa', 0)).status).toBe(400);
    expect((await authorize('bank_sim', 'k-card-at-bank', 'tok_visa')).body.error.code).toBe('method_unsupported');
    expect((await authorize('acq_nowhere', 'k', 'tok_visa')).status).toBe(404);
  });

  it('tok_lost_response: recorded, connection destroyed once, then the same authorization', async () => {
    await expect(authorize('acq_primary', 'k-lost', 'tok_lost_response')).rejects.toThrow();
    const retry = await authorize('acq_primary', 'k-lost', 'tok_lost_response');
    expect(retry.body.status).toBe('authorized');
    const record = await server.sim.charges('acq_primary');
    expect(record.authorizations.map((a) => a.id)).toEqual([retry.body.id]);
  });

  it('error_500 faults answer 500 for `count` requests and record nothing', async () => {
    await server.sim.fault('acq_secondary', 'error_500', 2);
    expect((await authorize('acq_secondary', 'k-f', 'tok_visa')).status).toBe(500);
    expect((await authorize('acq_secondary', 'k-f', 'tok_visa')).status).toBe(500);
    expect((await authorize('acq_secondary', 'k-f', 'tok_visa')).status).toBe(200);
    const record = await server.sim.charges('acq_secondary');
    expect(record.requests_received).toBe(3);
    expect(record.authorizations).toHaveLength(1);
  });
});
