import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, it } from 'vitest';
import { auditLedger } from '../store/ledger/audit.js';
import { balanceOf, createAccount, startHarness, tenantRowCounts } from '../test/harness.js';
import { forgetStickyWorker, spawnWorkerProcess } from '../test/worker-process.js';
import { BusinessStatus } from '../workflows/search-attributes.js';

/**
 * The worker process killed in the middle of a transfer's ledger post, before its transaction and
 * after its commit. Since 0.2.0 the transfer's steps are local activities, run inside the workflow
 * task of the worker that took it: nothing of a step is in the history until that task completes
 * (or heartbeats, after 8 s of steps). A fresh worker gets the run once the dead worker's workflow
 * task times out (10 s, the workflow task timeout: the recovery time) and runs the steps again from
 * the last completed task; every step is idempotent by its key, so the money moves once. Each test
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

/** The outcomes, in history order, of the run's local activities of `activityType` (their markers). */
async function localOutcomes(temporal: Client, workflowId: string, activityType: string): Promise<('completed' | 'failed')[]> {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0] : undefined;
    if (!data || defaultPayloadConverter.fromPayload<{ activity_type: string }>(data).activity_type !== activityType) return [];
    return [marker!.failure ? 'failed' as const : 'completed' as const];
  });
}

const businessStatusOf = async (temporal: Client, workflowId: string) =>
  (await temporal.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(BusinessStatus);

describe.concurrent('a worker process killed in the middle of a transfer', () => {
  it('before the ledger post: a new worker posts it and the money moves exactly once', async ({ expect }) => {
    const t = await transferThroughDoomedWorker({ FAULT_DELAY_BEFORE_POST_MS: '600000' });
    try {
      expect(t.res.status).toBe(202);
      // The post is in flight in the doomed worker, stalled before its transaction: its first
      // attempt timed out, so the run shows `held` (funds reserved) while the post retries.
      await expect.poll(async () => {
        t.doomed.assertAlive();
        return businessStatusOf(t.h.temporal, t.workflowId);
      }, { timeout: 60_000, interval: 100 }).toBe('held');
      await t.doomed.kill();
      await forgetStickyWorker(t.h.temporal, t.workflowId);
      expect((await t.tenant.call('GET', `/v1/transfers/${t.transferId}`)).body.status).toBe('pending');
      expect(await balanceOf(t.tenant.call, t.from)).toEqual({ balance: 10_000, available: 6_000 });

      await t.h.startWorker();
      expect(await t.h.temporal.workflow.getHandle(t.workflowId).result()).toMatchObject({ status: 'succeeded' });
      // The first attempt's failure (recorded by the doomed worker's heartbeat), then the fresh worker's post.
      expect(await localOutcomes(t.h.temporal, t.workflowId, 'postTransfer')).toEqual(['failed', 'completed']);
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
      // …and Temporal has not recorded it: the post's outcome is not in the history.
      expect(await localOutcomes(t.h.temporal, t.workflowId, 'postTransfer')).not.toContain('completed');
      await t.doomed.kill();
      await forgetStickyWorker(t.h.temporal, t.workflowId);
      expect(await balanceOf(t.tenant.call, t.from)).toEqual({ balance: 6_000, available: 6_000 });
      expect((await t.h.temporal.workflow.getHandle(t.workflowId).describe()).status.name).toBe('RUNNING');

      await t.h.startWorker();
      const result = await t.h.temporal.workflow.getHandle(t.workflowId).result();
      expect(result).toMatchObject({ status: 'succeeded' });
      // The post ran again in the fresh worker (the first run's outcome was never recorded), against the committed post.
      expect((await localOutcomes(t.h.temporal, t.workflowId, 'postTransfer')).at(-1)).toBe('completed');

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
