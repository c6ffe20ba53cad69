import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAccount, startHarness, type Call, type Harness } from '../test/harness.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));
/** Every workflow and outcome whose history is kept as a fixture. */
const SCENARIOS = [
  'p2pTransfer-succeeded', 'p2pTransfer-insufficient_funds', 'topUp-flaky', 'topUp-declined',
  'paymentSaga-captured', 'paymentSaga-declined', 'paymentSaga-capture_fails', 'paymentSaga-manual_refunded',
  'leaveApproval-approved', 'leaveApproval-rejected', 'leaveApproval-auto_approved',
] as const;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '30000' } });
});
afterAll(async () => {
  await h?.close();
});

/** Runs each scenario through the API and returns its workflow id. */
async function runScenarios(): Promise<Record<(typeof SCENARIOS)[number], string>> {
  const tenant = await h.newTenant();
  const from = await createAccount(tenant.call, { fundMinor: 1_000 });
  const to = await createAccount(tenant.call);
  const transfer = (amount: number) =>
    tenant.call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount, currency: 'USD' } });
  const topUp = (token: string) =>
    tenant.call('POST', '/v1/topups', { body: { account_id: to, amount: 100, currency: 'USD', source: { type: 'bank_account', token } } });
  const merchant = await createAccount(tenant.call, { type: 'merchant' });
  const pay = async (token: string, captureMethod = 'automatic') => (await tenant.call('POST', '/v1/payments', {
    body: { amount: 500, currency: 'USD', merchant_account_id: merchant, capture_method: captureMethod, payment_method: { type: 'card', token } },
  })).body.id as string;
  const leave = await leaveScenarios(tenant.call);
  const manual = await pay('tok_visa', 'manual');
  await tenant.call('POST', `/v1/payments/${manual}/capture`, { body: { amount: 400 } });
  await tenant.call('POST', `/v1/payments/${manual}/refunds`, { body: {} });
  return {
    'paymentSaga-captured': `payment-${await pay('tok_visa')}`,
    'paymentSaga-declined': `payment-${await pay('tok_card_declined')}`,
    'paymentSaga-capture_fails': `payment-${await pay('tok_capture_fails')}`,
    'paymentSaga-manual_refunded': `payment-${manual}`,
    'leaveApproval-approved': `leave-${leave.approved}`,
    'leaveApproval-rejected': `leave-${leave.rejected}`,
    'leaveApproval-auto_approved': `leave-${leave.autoApproved}`,
    'p2pTransfer-succeeded': `transfer-${(await transfer(600)).body.id}`,
    'p2pTransfer-insufficient_funds': `transfer-${(await transfer(600)).body.id}`,
    'topUp-flaky': `topup-${(await topUp('btok_flaky')).body.id}`,
    'topUp-declined': `topup-${(await topUp('btok_insufficient_funds')).body.id}`,
  };
}

/** Leave requests that reach a final state: approved, rejected, and approved at once (no manager). */
async function leaveScenarios(call: Call) {
  await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } });
  let n = 0;
  const employee = async (managerId?: string) => (await call('POST', '/v1/employees', {
    body: { employee_number: `R${++n}`, first_name: 'R', last_name: `P${n}`, email: `r${n}@example.com`, department: 'Ops', hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}) },
  })).body.id as string;
  const boss = await employee();
  const worker = await employee(boss);
  for (const id of [boss, worker]) await call('POST', `/v1/employees/${id}/leave-allocations`, { body: { leave_type: 'annual', year: 2020, days: 10 } });
  // Leave in the past: an approved leave's run ends at once (nothing left to cancel).
  const request = async (employeeId: string, start: string, end: string) => (await call('POST', '/v1/leave-requests', {
    body: { employee_id: employeeId, leave_type: 'annual', start_date: start, end_date: end },
  })).body.id as string;
  const approved = await request(worker, '2020-03-02', '2020-03-03');
  await call('POST', `/v1/leave-requests/${approved}/approve`, { body: { approver_id: boss } });
  const rejected = await request(worker, '2020-04-06', '2020-04-07');
  await call('POST', `/v1/leave-requests/${rejected}/reject`, { body: { approver_id: boss } });
  return { approved, rejected, autoApproved: await request(boss, '2020-05-04', '2020-05-05') };
}

const replay = (history: unknown, workflowId: string) =>
  Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, workflowId);

describe('workflow determinism', () => {
  it('replays the recorded histories of every workflow with the current code', async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([...SCENARIOS].sort());
    for (const file of files) {
      const history = historyFromJSON(JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8')));
      await expect(replay(history, file)).resolves.toBeUndefined();
    }
  });

  it('replays fresh histories of this run (RECORD_HISTORIES=1 saves them as the fixtures)', async () => {
    const ids = await runScenarios();
    for (const [scenario, workflowId] of Object.entries(ids)) {
      const history = await h.temporal.workflow.getHandle(workflowId).fetchHistory();
      await expect(replay(history, workflowId)).resolves.toBeUndefined();
      if (process.env.RECORD_HISTORIES === '1') {
        mkdirSync(FIXTURES, { recursive: true });
        writeFileSync(`${FIXTURES}${scenario}.json`, historyToJSON(history));
      }
    }
  });
});
