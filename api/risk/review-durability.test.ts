import { describe, expect, it } from 'vitest';
import { RISK_RULE_CODES } from '../../domain/risk/types.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { eventually } from '../../test/eventually.js';
import { actorHeaders, balanceOf, createAccount, startHarness, type Call, type Harness } from '../../test/harness.js';
import { forgetStickyWorker, spawnWorkerProcess } from '../../test/worker-process.js';

/** A first payment to a new payee scores 70: review; nothing else fires. */
async function reviewFirstPayments(call: Call) {
  const rules = Object.fromEntries(RISK_RULE_CODES.map((c) => [c, c === 'new_counterparty' ? { enabled: true, score: 70 } : { enabled: false }]));
  expect((await call('PUT', '/v1/risk/settings', { body: { rules } })).status).toBe(200);
}

async function fundedPair(h: Harness) {
  const tenant = await h.newTenant();
  await reviewFirstPayments(tenant.call);
  const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
  const payee = await createAccount(tenant.call);
  return { tenant, payer, payee };
}

const transferRow = async (h: Harness, id: string) =>
  (await h.pool.query('SELECT status, failure_code FROM transfers WHERE id = $1', [id])).rows[0] as { status: string; failure_code: string | null };

describe('durable review', () => {
  it('undecided after RISK_REVIEW_TIMEOUT: expired, the hold voided, the transfer failed risk_declined; a late decision is refused', async () => {
    const h = await startHarness({ env: { API_WAIT_WINDOW_MS: '20000', RISK_REVIEW_TIMEOUT: '2s' } });
    try {
      const { tenant, payer, payee } = await fundedPair(h);
      const res = await tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payee, amount: 3_000, currency: 'USD' } });
      expect(res.body.status).toBe('in_review');
      const review = (await tenant.call('GET', '/v1/risk/reviews?status=open')).body.data[0];
      expect(new Date(review.expires_at).getTime() - new Date(review.created_at).getTime()).toBe(2_000);
      const done = await eventually(() => transferRow(h, res.body.id), (t) => t.status !== 'in_review', 30_000);
      expect(done).toEqual({ status: 'failed', failure_code: 'risk_declined' });
      expect((await tenant.call('GET', `/v1/risk/reviews/${review.id}`)).body).toMatchObject({ status: 'expired', decided_by: null });
      expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 10_000, available: 10_000 });
      const late = await tenant.call('POST', `/v1/risk/reviews/${review.id}/approve`, { body: {}, headers: await actorHeaders(tenant, 'user_late') });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('review_invalid_state');
      expect((await auditLedger(h.pool, { tenantId: tenant.id })).problems).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('a worker killed during the review wait: a fresh worker takes the decision and posts the transfer once', async () => {
    const h = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '0' } });
    const doomed = spawnWorkerProcess(h);
    try {
      await doomed.ready();
      const { tenant, payer, payee } = await fundedPair(h);
      const res = await tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payee, amount: 3_000, currency: 'USD' } });
      await eventually(async () => {
        doomed.assertAlive();
        return transferRow(h, res.body.id);
      }, (t) => t.status === 'in_review', 60_000);
      await doomed.kill();

      await h.startWorker();
      await forgetStickyWorker(h.temporal, `transfer-${res.body.id}`);
      const review = (await tenant.call('GET', '/v1/risk/reviews?status=open')).body.data[0];
      const approved = await tenant.call('POST', `/v1/risk/reviews/${review.id}/approve`, { body: {}, headers: await actorHeaders(tenant, 'user_analyst') });
      expect(approved.status).toBe(200);
      expect(await eventually(() => transferRow(h, res.body.id), (t) => t.status !== 'in_review', 60_000)).toEqual({ status: 'succeeded', failure_code: null });

      const count = async (sql: string) => (await h.pool.query(sql, [res.body.id])).rows[0].n as number;
      expect(await count(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference_id = $1`)).toBe(1);
      expect(await count(`SELECT count(*)::int AS n FROM risk_reviews WHERE object_id = $1`)).toBe(1);
      expect(await balanceOf(tenant.call, payer)).toEqual({ balance: 7_000, available: 7_000 });
      expect(await balanceOf(tenant.call, payee)).toEqual({ balance: 3_000, available: 3_000 });
      expect((await auditLedger(h.pool, { tenantId: tenant.id })).problems).toEqual([]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- worker process output ---\n${doomed.output()}`, { cause: err });
    } finally {
      await doomed.kill();
      await h.close();
    }
  });
});
