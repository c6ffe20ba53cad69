import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { balanceOf, createAccount, startHarness, tenantRowCounts, type Harness } from '../test/harness.js';

const WORKER_ENTRY = fileURLToPath(new URL('./main.ts', import.meta.url));

let h: Harness;
beforeAll(async () => {
  // The API of this file has no worker of its own: the transfer is run by a separate process.
  h = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '0' } });
});
afterAll(async () => {
  await h?.close();
});

/** The real worker entry point in its own process, stalled before the ledger post. */
function spawnWorker(faultDelayBeforePostMs: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: h.config.DATABASE_URL,
      TEMPORAL_ADDRESS: h.config.TEMPORAL_ADDRESS,
      TASK_QUEUE_WALLET: h.config.TASK_QUEUE_WALLET,
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      FAULT_DELAY_BEFORE_POST_MS: String(faultDelayBeforePostMs),
      SETTLEMENT_SCHEDULE_ENABLED: 'false',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

describe('a worker killed in the middle of a transfer', () => {
  it('a new worker finishes it and the money moves exactly once', async () => {
    const tenant = await h.newTenant();
    const fundingWorker = await h.startWorker();
    const from = await createAccount(tenant.call, { fundMinor: 10_000 });
    const to = await createAccount(tenant.call);
    await fundingWorker();

    const doomed = spawnWorker(600_000);
    const exited = new Promise((r) => doomed.once('exit', r));
    try {
      const res = await tenant.call('POST', '/v1/transfers', {
        body: { from_account_id: from, to_account_id: to, amount: 4_000, currency: 'USD' },
      });
      expect(res.status).toBe(202);
      // The hold is placed and the post has started in the doomed worker: kill it there.
      await expect.poll(async () => (await h.pool.query('SELECT hold_id FROM transfers WHERE id = $1', [res.body.id])).rows[0]?.hold_id,
        { timeout: 60_000, interval: 50 }).toBeTruthy();
      await new Promise((r) => setTimeout(r, 300));
      doomed.kill('SIGKILL');
      await exited;
      expect((await tenant.call('GET', `/v1/transfers/${res.body.id}`)).body.status).toBe('pending');
      expect(await balanceOf(tenant.call, from)).toEqual({ balance: 10_000, available: 6_000 });

      await h.startWorker();
      await expect.poll(async () => (await tenant.call('GET', `/v1/transfers/${res.body.id}`)).body.status,
        { timeout: 60_000, interval: 200 }).toBe('succeeded');
      expect(await balanceOf(tenant.call, from)).toEqual({ balance: 6_000, available: 6_000 });
      expect(await balanceOf(tenant.call, to)).toEqual({ balance: 4_000, available: 4_000 });
      const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference_id = $1`, [res.body.id]);
      expect(rows[0].n).toBe(1);
      expect((await tenantRowCounts(h.pool, tenant.id)).holds).toBe(1);
    } finally {
      doomed.kill('SIGKILL');
    }
  });
});
