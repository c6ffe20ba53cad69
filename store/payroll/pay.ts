import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { LedgerError } from '../../domain/ledger/errors.js';
import type { PayrollRunStatus } from '../../domain/payroll/run.js';
import { lockLedgerAccounts } from '../ledger/accounts.js';
import { placeHoldsOnAccount, postHold, voidHoldsOnAccount } from '../ledger/holds.js';
import { appendOutboxEvents } from '../outbox/outbox.js';
import { insertPostedTransfers } from '../wallet/transfers.js';
import { assertInTransaction } from '../rows.js';
import { toSafeInt } from '../db.js';
import { lockPayrollRun, moveRun } from './runs.js';

/**
 * Paying a run through the ledger (contract §9), each step one transaction of the caller's:
 * - `holdRunNet`: on approval, one hold per line on the funding account (the whole net, or
 *   nothing and the run `failed` `insufficient_funds`);
 * - `payLineBatch`: a range of lines (by `seq`), each its hold posted to the employee's wallet
 *   as a transfer (`tr_…`, kind `payroll`), the line `paid`, the `payroll.paid` event in the outbox —
 *   all committed together, so a retried batch finds its lines paid and pays nobody twice;
 * - `releaseRunHolds`: voids the holds of a cancelled run, or of the lines left failed.
 * Keys: `<workflow id>:hold:<employee>` and `<workflow id>:pay:<employee>` — per run and employee.
 */

export interface RunStep {
  tenantId: string;
  runId: string;
  /** The run's workflow id: the prefix of every ledger key of the run. */
  keyPrefix: string;
}

/**
 * Holds each payable line's net (lines in the funding account's currency with a net above zero)
 * on the funding account, in one statement, and moves the run `awaiting_approval` → `paying`
 * (approved by `approvedBy`). The account must have the whole sum available (`balance − held`,
 * whatever its type: a payroll is paid from money the tenant has), else the run is `failed`
 * `insufficient_funds` and nothing is held. A repeat finds the run moved and does nothing.
 */
export async function holdRunNet(client: pg.PoolClient, step: RunStep & { approvedBy: string }): Promise<PayrollRunStatus> {
  assertInTransaction(client, 'holdRunNet');
  const run = await lockPayrollRun(client, step.tenantId, step.runId);
  if (run.status !== 'awaiting_approval') return run.status;
  const accounts = await lockLedgerAccounts(client, { tenantId: step.tenantId, debitIds: [run.fundingAccountId] });
  const funding = accounts.get(run.fundingAccountId);
  if (!funding) throw new LedgerError('account_missing', `No such account: ${run.fundingAccountId}`);
  const { rows } = await client.query(
    `SELECT employee_id, net FROM payroll_lines WHERE run_id = $1 AND currency = $2 AND net > 0 ORDER BY seq`,
    [step.runId, funding.currency],
  );
  const total = rows.reduce((sum, r) => sum + BigInt(r.net as string), 0n);
  if (BigInt(funding.balanceMinor) - BigInt(funding.heldMinor) < total) {
    await moveRun(client, step.tenantId, step.runId, ['awaiting_approval'], 'failed', {
      failure_code: 'insufficient_funds',
      failure_message: `The funding account has ${funding.balanceMinor - funding.heldMinor} ${funding.currency} available; the run's net is ${total}.`,
    });
    return 'failed';
  }
  const holdIds = await placeHoldsOnAccount(client, {
    tenantId: step.tenantId, accountId: run.fundingAccountId, currency: funding.currency, keyPrefix: `${step.keyPrefix}:hold:`,
    holds: rows.map((r) => ({ owner: r.employee_id as string, amountMinor: toSafeInt(r.net as string) })),
  });
  await client.query(
    `UPDATE payroll_lines l SET hold_id = h.hold_id FROM unnest($2::text[], $3::text[]) AS h(employee_id, hold_id)
     WHERE l.run_id = $1 AND l.employee_id = h.employee_id`,
    [step.runId, [...holdIds.keys()], [...holdIds.values()]],
  );
  await moveRun(client, step.tenantId, step.runId, ['awaiting_approval'], 'paying', { approved_by: step.approvedBy });
  return 'paying';
}

interface LineToPay {
  employeeId: string;
  netMinor: number;
  currency: string;
  holdId: string | null;
  walletAccountId: string | null;
  walletCurrency: string | null;
}

export interface BatchOutcome {
  paid: number;
  failed: number;
}

/**
 * Pays the run's `pending` lines with `seq` in [fromSeq, toSeq]. A line that cannot be paid fails
 * alone: no wallet linked (`no_wallet`), the wallet gone (`wallet_missing`), another currency
 * than the funding account's or the wallet's (`currency_mismatch`); with `careful`, each line also
 * runs in a savepoint, so a refusal of the ledger itself (a wallet's balance cap: `limit_exceeded`)
 * fails that line only. The caller runs a batch without savepoints first (one round trip per line)
 * and again with them only when the ledger refused one. Pays nothing unless the run is `paying`.
 */
export async function payLineBatch(
  client: pg.PoolClient, step: RunStep & { fromSeq: number; toSeq: number; careful: boolean },
): Promise<BatchOutcome> {
  assertInTransaction(client, 'payLineBatch');
  // Takes the run's row lock: a cancel (which needs paying_started_at null) waits for this batch and then refuses.
  const started = await client.query(
    `UPDATE payroll_runs SET paying_started_at = coalesce(paying_started_at, now()), updated_at = now()
     WHERE tenant_id = $1 AND id = $2 AND status = 'paying' RETURNING period, funding_account_id`,
    [step.tenantId, step.runId],
  );
  if (!started.rows[0]) return { paid: 0, failed: 0 };
  const period = started.rows[0].period as string;
  const lines = await lockLinesToPay(client, step);
  const paid: { line: LineToPay; transferId: string | null; transactionId: string | null }[] = [];
  const failed: { employeeId: string; code: string }[] = [];
  for (const line of lines) {
    const refusal = refusalOf(line);
    if (refusal) {
      failed.push({ employeeId: line.employeeId, code: refusal });
      continue;
    }
    if (line.netMinor === 0) {
      paid.push({ line, transferId: null, transactionId: null });
      continue;
    }
    const transferId = newId('transfer');
    const post = () => postHold(client, {
      tenantId: step.tenantId, idempotencyKey: `${step.keyPrefix}:pay:${line.employeeId}`, holdId: line.holdId!,
      creditAccountId: line.walletAccountId!, kind: 'payroll', referenceId: transferId,
    });
    if (!step.careful) {
      paid.push({ line, transferId, transactionId: (await post()).transactionId });
      continue;
    }
    await client.query('SAVEPOINT payroll_line');
    try {
      paid.push({ line, transferId, transactionId: (await post()).transactionId });
      await client.query('RELEASE SAVEPOINT payroll_line');
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT payroll_line');
      failed.push({ employeeId: line.employeeId, code: err.code });
    }
  }
  await recordBatch(client, step, { period, fundingAccountId: started.rows[0].funding_account_id as string }, paid, failed);
  return { paid: paid.length, failed: failed.length };
}

async function lockLinesToPay(client: pg.PoolClient, step: RunStep & { fromSeq: number; toSeq: number }): Promise<LineToPay[]> {
  const { rows } = await client.query(
    `SELECT l.employee_id, l.net, l.currency, l.hold_id, e.wallet_account_id, a.currency AS wallet_currency
     FROM payroll_lines l
     JOIN employees e ON e.tenant_id = l.tenant_id AND e.id = l.employee_id
     LEFT JOIN accounts a ON a.id = e.wallet_account_id AND a.tenant_id = l.tenant_id
     WHERE l.run_id = $1 AND l.seq BETWEEN $2 AND $3 AND l.status = 'pending'
     ORDER BY l.seq FOR UPDATE OF l`,
    [step.runId, step.fromSeq, step.toSeq],
  );
  return rows.map((r) => ({
    employeeId: r.employee_id as string, netMinor: toSafeInt(r.net as string), currency: r.currency as string,
    holdId: r.hold_id as string | null, walletAccountId: r.wallet_account_id as string | null, walletCurrency: r.wallet_currency as string | null,
  }));
}

/** Why a line cannot be paid, known before the ledger is asked (null: it can). */
function refusalOf(line: LineToPay): string | null {
  if (line.walletAccountId === null) return 'no_wallet';
  if (line.walletCurrency === null) return 'wallet_missing';
  if (line.walletCurrency !== line.currency) return 'currency_mismatch';
  // No hold: the line is in another currency than the funding account (holdRunNet held only its currency).
  if (line.netMinor > 0 && line.holdId === null) return 'currency_mismatch';
  return null;
}

/** The batch's transfers, line statuses and `payroll.paid` events, one statement each. */
async function recordBatch(
  client: pg.PoolClient, step: RunStep, run: { period: string; fundingAccountId: string },
  paid: { line: LineToPay; transferId: string | null; transactionId: string | null }[], failed: { employeeId: string; code: string }[],
): Promise<void> {
  await insertPostedTransfers(client, {
    tenantId: step.tenantId, fromAccountId: run.fundingAccountId, description: `Payroll ${run.period} (${step.runId})`,
    transfers: paid.filter((p) => p.transferId !== null).map((p) => ({
      id: p.transferId!, toAccountId: p.line.walletAccountId!, amountMinor: p.line.netMinor, currency: p.line.currency,
      holdId: p.line.holdId!, transactionId: p.transactionId!,
    })),
  });
  await client.query(
    `UPDATE payroll_lines l SET status = u.status, transfer_id = u.transfer_id, failure_code = u.failure_code,
                               paid_at = CASE WHEN u.status = 'paid' THEN now() END
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(employee_id, status, transfer_id, failure_code)
     WHERE l.run_id = $1 AND l.employee_id = u.employee_id`,
    [
      step.runId, [...paid.map((p) => p.line.employeeId), ...failed.map((f) => f.employeeId)],
      [...paid.map(() => 'paid'), ...failed.map(() => 'failed')], [...paid.map((p) => p.transferId), ...failed.map(() => null)],
      [...paid.map(() => null), ...failed.map((f) => f.code)],
    ],
  );
  await appendOutboxEvents(client, paid.map((p) => ({
    tenantId: step.tenantId, topic: 'payroll.paid' as const, idempotencyKey: `${step.keyPrefix}:paid:${p.line.employeeId}`,
    payload: {
      run_id: step.runId, period: run.period, employee_id: p.line.employeeId, amount: p.line.netMinor, currency: p.line.currency,
      transfer_id: p.transferId,
    },
  })));
}

/** After the last batch: `paying` → `paid`, or `partially_failed` when a line failed. */
export async function finishPaying(client: pg.PoolClient, tenantId: string, runId: string): Promise<PayrollRunStatus> {
  const run = await lockPayrollRun(client, tenantId, runId);
  if (run.status !== 'paying') return run.status;
  const { rows } = await client.query(
    `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'failed')::int AS failed
     FROM payroll_lines WHERE run_id = $1`,
    [runId],
  );
  if ((rows[0].pending as number) > 0) throw new Error(`payroll run ${runId}: ${rows[0].pending} lines still pending after the last batch`);
  const next = (rows[0].failed as number) > 0 ? 'partially_failed' : 'paid';
  await moveRun(client, tenantId, runId, ['paying'], next);
  return next;
}

/**
 * Voids the run's active holds — all of them (a cancelled run), or only those of its `failed`
 * lines (the retry window closed) — giving the funds back to the funding account in one statement.
 */
export async function releaseRunHolds(client: pg.PoolClient, run: { runId: string; fundingAccountId: string; tenantId: string }, only: 'all' | 'failed'): Promise<number> {
  await lockLedgerAccounts(client, { tenantId: run.tenantId, debitIds: [run.fundingAccountId] });
  const { rows } = await client.query(
    `SELECT hold_id FROM payroll_lines WHERE run_id = $1 AND hold_id IS NOT NULL AND ($2 OR status = 'failed')`, [run.runId, only === 'all'],
  );
  return voidHoldsOnAccount(client, run.fundingAccountId, rows.map((r) => r.hold_id as string));
}

/** `retry-failed`: the failed lines are `pending` again and the run `paying`; returns how many. */
export async function resetFailedLines(client: pg.PoolClient, tenantId: string, runId: string): Promise<number> {
  if (!(await moveRun(client, tenantId, runId, ['partially_failed'], 'paying'))) return 0;
  const { rowCount } = await client.query(
    `UPDATE payroll_lines SET status = 'pending', failure_code = NULL WHERE run_id = $1 AND status = 'failed'`, [runId],
  );
  return rowCount ?? 0;
}
