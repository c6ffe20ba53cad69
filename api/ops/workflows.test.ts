import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger, type AuditReport } from '../../store/ledger/audit.js';
import { balanceOf, createAccount, startHarness, type Call, type Harness } from '../../test/harness.js';

let h: Harness;
let tenant: { id: string; call: Call };
let payee: string;
/** One payer per test: a stuck transfer of one test may finish while another test runs a worker. */
const payers: string[] = [];

beforeAll(async () => {
  // No worker at first: transfers stay `pending`, the way a stuck run looks to ops.
  h = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '0' } });
  tenant = await h.newTenant();
  const stopFunding = await h.startWorker();
  for (let i = 0; i < 3; i++) payers.push(await createAccount(tenant.call, { fundMinor: 10_000 }));
  payee = await createAccount(tenant.call);
  await stopFunding();
});
afterAll(async () => {
  // This file's tenant only: other files write to the same ledger meanwhile (the whole run is audited last).
  if (tenant) expect((await auditLedger(h.pool, { tenantId: tenant.id })).problems).toEqual([]);
  await h?.close();
});

const transfer = async (payer: string, amount: number) =>
  (await tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payee, amount, currency: 'USD' } })).body.id as string;
const transferStatus = async (id: string) => (await tenant.call('GET', `/v1/transfers/${id}`)).body;

describe('ops: workflows', () => {
  it('lists runs from visibility by type, status, business status and age', async () => {
    const id = await transfer(payers[0]!, 100);
    const list = (query: string) => h.admin('GET', `/v1/ops/workflows?${query}`);
    await expect.poll(async () => (await list('type=p2pTransfer&status=running&business_status=pending&limit=100')).body.data
      .map((r: { workflow_id: string }) => r.workflow_id), { timeout: 20_000 }).toContain(`transfer-${id}`);
    const run = (await list('type=p2pTransfer&status=running&limit=100')).body.data.find((r: { workflow_id: string }) => r.workflow_id === `transfer-${id}`);
    expect(run).toMatchObject({ object: 'workflow_run', type: 'p2pTransfer', status: 'running', business_status: 'pending', tenant_id: tenant.id });
    expect((await list('type=p2pTransfer&older_than=1h&limit=100')).body.data).toEqual([]);
    expect((await list('status=sleeping')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'status' });
    expect((await list('older_than=soon')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'older_than' });
    expect((await tenant.call('GET', '/v1/ops/workflows')).status).toBe(403);
  });

  it('cancel: the run compensates and the transfer fails as canceled, moving nothing', async () => {
    const id = await transfer(payers[1]!, 300);
    const res = await h.admin('POST', `/v1/ops/workflows/transfer-${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ workflow_id: `transfer-${id}`, result: 'cancel_requested' });
    const stop = await h.startWorker();
    try {
      await expect.poll(async () => (await transferStatus(id)).status, { timeout: 20_000 }).toBe('failed');
      expect((await transferStatus(id)).failure_code).toBe('canceled');
      await expect.poll(async () => (await h.temporal.workflow.getHandle(`transfer-${id}`).describe()).status.name)
        .toBe('CANCELLED');
      expect(await balanceOf(tenant.call, payers[1]!)).toEqual({ balance: 10_000, available: 10_000 });
    } finally {
      await stop();
    }
  });

  it('terminate stops a run at once; retry resets a finished run, which finishes again without moving money twice', async () => {
    const stuck = await transfer(payers[2]!, 50);
    const terminated = await h.admin('POST', `/v1/ops/workflows/transfer-${stuck}/terminate`, { body: { reason: 'drill' } });
    expect(terminated.body).toEqual({ workflow_id: `transfer-${stuck}`, result: 'terminated' });
    expect((await h.temporal.workflow.getHandle(`transfer-${stuck}`).describe()).status.name).toBe('TERMINATED');

    const stop = await h.startWorker();
    try {
      const id = await transfer(payers[2]!, 700);
      await expect.poll(async () => (await transferStatus(id)).status, { timeout: 20_000 }).toBe('succeeded');
      // The row says succeeded inside the run's first workflow task (local steps); reset needs that task completed: wait for the run.
      await h.temporal.workflow.getHandle(`transfer-${id}`).result();
      const retried = await h.admin('POST', `/v1/ops/workflows/transfer-${id}/retry`, { body: { reason: 'drill' } });
      expect(retried.status).toBe(200);
      expect(retried.body.run_id).not.toBe(retried.body.previous_run_id);
      const result = await h.temporal.workflow.getHandle(`transfer-${id}`, retried.body.run_id).result();
      expect(result).toMatchObject({ status: 'succeeded' });
      const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM ledger_transactions WHERE reference_id = $1', [id]);
      expect(rows[0].n).toBe(1);
      expect(await balanceOf(tenant.call, payers[2]!)).toEqual({ balance: 9_300, available: 9_300 });
    } finally {
      await stop();
    }
  });

  it('the same from the command line: npm run ops -- list', async () => {
    const id = await transfer(payers[0]!, 10);
    const script = fileURLToPath(new URL('../../scripts/ops.ts', import.meta.url));
    const env = { ...process.env, TEMPORAL_ADDRESS: h.config.TEMPORAL_ADDRESS, DATABASE_URL: h.config.DATABASE_URL };
    const list = async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, 'list', '--type', 'p2pTransfer', '--limit', '100', '--json'], { env });
      return (JSON.parse(stdout) as { data: { workflow_id: string }[] }).data.map((r) => r.workflow_id);
    };
    await expect.poll(list, { timeout: 30_000, interval: 1_000 }).toContain(`transfer-${id}`);
    // `audit` covers the whole shared ledger, which other files write to meanwhile: here its report
    // and exit code (1 when not ok); this file's own ledger is audited, scoped to its tenant, in afterAll.
    const audit = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, 'audit', '--json'], { env }).then(
      ({ stdout }) => ({ exitCode: 0, stdout }),
      (err: { code?: number; stdout?: string }) => ({ exitCode: err.code, stdout: err.stdout ?? '' }),
    );
    const report = JSON.parse(audit.stdout) as AuditReport;
    expect(report).toMatchObject({ ok: expect.any(Boolean), checked: { transactions: expect.any(Number), entries: expect.any(Number) }, problems: expect.any(Array) });
    expect(report.checked.accounts).toBeGreaterThanOrEqual(payers.length + 1);
    expect(audit.exitCode).toBe(report.ok ? 0 : 1);
  });

  it('answers 404 for an unknown run and 400 without a reason', async () => {
    expect((await h.admin('POST', '/v1/ops/workflows/transfer-tr_nope/cancel')).body.error.code).toBe('resource_missing');
    expect((await h.admin('POST', '/v1/ops/workflows/transfer-tr_nope/terminate', { body: {} })).body.error)
      .toMatchObject({ code: 'parameter_missing', param: 'reason' });
  });
});
