import { describe, it } from 'vitest';
import { auditLedger } from '../store/ledger/audit.js';
import { balanceOf, createAccount, startHarness, tenantRowCounts } from '../test/harness.js';
import { completedAttempts, forgetStickyWorker, pendingActivity, spawnWorkerProcess } from '../test/worker-process.js';

/**
 * The worker process killed in the middle of a transfer's ledger post, before its transaction and
 * after its commit; a fresh worker finishes the run once the post's attempt times out (the
 * `mustFinishActivity` startToClose, 5 s: not configurable, it is the recovery time). Each test
 * has task queues of its own (its own harness), so the two run side by side.
 */
async function transferThroughDoomedWorker(faults: Record<string, string>) {
  // The API of the test has no worker of its own: the worker process runs everything until the kill.
  const h = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '0' } });
  const doomed = spawnWorkerProcess(h, faults);
  try {
    await doomed.ready();
    const tenant = await h.newTenant();
    const from = await createAccount(tenant.call, { fundMinor: 10_000 }); // the top-up runs in the worker process
    const to = await createAccount(tenant.call);
    const res = await tenant.call('POST', '/v1/transfers', {
      body: { from_account_id: from, to_account_id: to, amount: 4_000, currency: 'USD' },
    });
    const transferId = res.body.id as string;
    const transferRow = async () =>
      (await h.pool.query('SELECT status, hold_id FROM transfers WHERE id = $1', [transferId])).rows[0] as { status: string; hold_id: string };
    const close = async () => {
      await doomed.kill();
      await h.close();
    };
    return { h, doomed, tenant, from, to, res, transferId, workflowId: `transfer-${transferId}`, transferRow, close };
  } catch (err) {
    await doomed.kill();
    await h.close();
    throw new Error(`${(err as Error).message}\n--- worker process output ---\n${doomed.output()}`, { cause: err });
  }
}

describe.concurrent('a worker process killed in the middle of a transfer', () => {
  it('before the ledger post: a new worker posts it and the money moves exactly once', async ({ expect }) => {
    const t = await transferThroughDoomedWorker({ FAULT_DELAY_BEFORE_POST_MS: '600000' });
    try {
      expect(t.res.status).toBe(202);
      // The post is in flight in the doomed worker, stalled before its transaction.
      await expect.poll(async () => {
        t.doomed.assertAlive();
        return pendingActivity(t.h.temporal, t.workflowId, 'postTransfer');
      }, { timeout: 60_000, interval: 50 }).toMatchObject({ started: true, attempt: 1 });
      await t.doomed.kill();
      await forgetStickyWorker(t.h.temporal, t.workflowId);
      expect((await t.tenant.call('GET', `/v1/transfers/${t.transferId}`)).body.status).toBe('pending');
      expect(await balanceOf(t.tenant.call, t.from)).toEqual({ balance: 10_000, available: 6_000 });

      await t.h.startWorker();
      expect(await t.h.temporal.workflow.getHandle(t.workflowId).result()).toMatchObject({ status: 'succeeded' });
      expect(await completedAttempts(t.h.temporal, t.workflowId, 'postTransfer')).toEqual([2]);
      expect((await t.tenant.call('GET', `/v1/transfers/${t.transferId}`)).body.status).toBe('succeeded');
      expect(await balanceOf(t.tenant.call, t.from)).toEqual({ balance: 6_000, available: 6_000 });
      expect(await balanceOf(t.tenant.call, t.to)).toEqual({ balance: 4_000, available: 4_000 });
      const { rows } = await t.h.pool.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference_id = $1`, [t.transferId]);
      expect(rows[0].n).toBe(1);
      expect((await tenantRowCounts(t.h.pool, t.tenant.id)).holds).toBe(1);
      expect((await auditLedger(t.h.pool, { tenantId: t.tenant.id })).problems).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('after the ledger post committed, before Temporal recorded it: the retry finds it done, the money moves exactly once', async ({ expect }) => {
    const t = await transferThroughDoomedWorker({ FAULT_DELAY_AFTER_COMMIT_MS: '600000', FAULT_AFTER_COMMIT_STEPS: 'postTransfer' });
    try {
      expect(t.res.status).toBe(202);
      // The post's transaction committed in the doomed worker (the transfer row is written with it)…
      await expect.poll(async () => {
        t.doomed.assertAlive();
        return (await t.transferRow()).status;
      }, { timeout: 60_000, interval: 50 }).toBe('succeeded');
      // …and Temporal still has the post in flight: its completion was never recorded.
      expect(await pendingActivity(t.h.temporal, t.workflowId, 'postTransfer')).toEqual({ started: true, attempt: 1 });
      await t.doomed.kill();
      await forgetStickyWorker(t.h.temporal, t.workflowId);
      expect(await balanceOf(t.tenant.call, t.from)).toEqual({ balance: 6_000, available: 6_000 });
      expect((await t.h.temporal.workflow.getHandle(t.workflowId).describe()).status.name).toBe('RUNNING');

      await t.h.startWorker();
      const result = await t.h.temporal.workflow.getHandle(t.workflowId).result();
      expect(result).toMatchObject({ status: 'succeeded' });
      // The post ran a second time (the first attempt never completed), against the committed post.
      expect(await completedAttempts(t.h.temporal, t.workflowId, 'postTransfer')).toEqual([2]);

      const { hold_id: holdId } = await t.transferRow();
      const postings = await t.h.pool.query(
        `SELECT id, kind, reference_id FROM ledger_transactions WHERE hold_id = $1 OR reference_id = $2`, [holdId, t.transferId]);
      expect(postings.rows).toEqual([{ id: result.transactionId, kind: 'transfer', reference_id: t.transferId }]);
      const hold = await t.h.pool.query('SELECT status, posted_amount::int AS posted FROM holds WHERE id = $1', [holdId]);
      expect(hold.rows).toEqual([{ status: 'posted', posted: 4_000 }]);
      expect(await balanceOf(t.tenant.call, t.from)).toEqual({ balance: 6_000, available: 6_000 });
      expect(await balanceOf(t.tenant.call, t.to)).toEqual({ balance: 4_000, available: 4_000 });
      const events = await t.h.pool.query(
        `SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1 AND topic = 'transfer.succeeded'`, [t.tenant.id]);
      expect(events.rows[0].n).toBe(1);
      expect((await tenantRowCounts(t.h.pool, t.tenant.id)).holds).toBe(1);
      expect((await auditLedger(t.h.pool, { tenantId: t.tenant.id })).problems).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
