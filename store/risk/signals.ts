import type { SignalWindows } from '../../domain/risk/score.js';
import type { RiskSignals } from '../../domain/risk/types.js';
import { prepared, toSafeInt, type Db } from '../db.js';

/**
 * The live aggregates fraud scoring reads (contract §8: never a cache), each ONE statement of
 * index ranges (schema/0014 and 0017): a payer's recent debits (posted entries and the holds it
 * has reserved now, so a burst counts before it posts), its recent top-ups, its history, money to
 * the payee before, the block list. Scans are bounded (`LIMIT`): an account with more debits in a
 * window than the bound is counted at the bound, which is far above any rule's threshold.
 */

/** At most this many rows per window are read (a window holding more is counted at this). */
const WINDOW_ROWS_MAX = 10_000;
/** `amount_outlier` compares with the payer's last this-many debits. */
const HISTORY_ROWS_MAX = 50;

export interface TransferRiskInput {
  tenantId: string;
  fromAccountId: string;
  toAccountId: string;
  amountMinor: number;
}

/** One account's debits since an instant: posted entries plus active holds (count and sum). */
const debitsSince = (since: string) => `
  (SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM (
     (SELECT e.amount FROM ledger_entries e
      WHERE e.account_id = $2 AND e.direction = 'debit' AND e.created_at >= ${since} LIMIT ${WINDOW_ROWS_MAX})
     UNION ALL
     (SELECT h.amount FROM holds h WHERE h.account_id = $2 AND h.status = 'active' AND h.created_at >= ${since} LIMIT ${WINDOW_ROWS_MAX})
   ) d)`;

const TRANSFER_SIGNALS = `
  WITH w AS (
    SELECT now() - make_interval(secs => $5) AS count_since, now() - make_interval(secs => $6) AS amount_since,
           now() - make_interval(days => $7) AS history_since, now() - make_interval(secs => $8) AS topup_since),
  topup AS (SELECT coalesce(sum(t.amount), 0) AS total, min(t.created_at) AS first_at FROM topups t, w
            WHERE t.account_id = $2 AND t.status = 'succeeded' AND t.created_at >= w.topup_since),
  history AS (SELECT e.amount FROM ledger_entries e, w
              WHERE e.account_id = $2 AND e.direction = 'debit' AND e.created_at >= w.history_since
              ORDER BY e.created_at DESC LIMIT ${HISTORY_ROWS_MAX})
  SELECT
    (SELECT floor(extract(epoch FROM now() - a.created_at))::bigint FROM accounts a WHERE a.id = $2 AND a.tenant_id = $1) AS account_age_seconds,
    (SELECT n FROM w, LATERAL ${debitsSince('w.count_since')} x) AS recent_count,
    (SELECT total FROM w, LATERAL ${debitsSince('w.amount_since')} x) AS recent_amount,
    (SELECT count(*) FROM history) AS history_count,
    (SELECT coalesce(sum(amount), 0) FROM history) AS history_amount,
    EXISTS (SELECT 1 FROM transfers t WHERE t.from_account_id = $2 AND t.to_account_id = $3 AND t.status = 'succeeded') AS paid_before,
    (SELECT total FROM topup) AS topup_amount,
    (SELECT CASE WHEN topup.first_at IS NULL THEN 0 ELSE (SELECT total FROM ${debitsSince('topup.first_at')} x) END FROM topup) AS drained,
    EXISTS (SELECT 1 FROM risk_blocklist b WHERE b.tenant_id = $1 AND b.type = 'account' AND b.value IN ($2, $3)) AS blocklisted,
    $4::bigint AS amount`;

/** The signals of a transfer about to be held (its own hold is not placed yet). */
export async function transferRiskSignals(db: Db, input: TransferRiskInput, windows: SignalWindows): Promise<RiskSignals> {
  const { rows } = await db.query(prepared('risk-transfer-signals', TRANSFER_SIGNALS), [
    input.tenantId, input.fromAccountId, input.toAccountId, input.amountMinor,
    windows.countWindowSeconds, windows.amountWindowSeconds, windows.historyDays, windows.topupWindowSeconds,
  ]);
  return toSignals(rows[0] as Record<string, unknown>, null);
}

export interface PaymentRiskInput {
  tenantId: string;
  paymentId: string;
  merchantAccountId: string;
  amountMinor: number;
  /** A card or bank token, or the paying wallet. */
  method: { type: 'card' | 'bank_transfer'; token: string } | { type: 'wallet'; accountId: string };
}

/** A token's earlier payments (this one excluded) since an instant: count and the sum of those not failed. */
const tokenPaymentsSince = (since: string) => `
  (SELECT count(*) AS n, coalesce(sum(amount) FILTER (WHERE status <> 'failed'), 0) AS total FROM (
     SELECT p.amount, p.status FROM payments p
     WHERE p.tenant_id = $1 AND p.payment_method_token = $2 AND p.created_at >= ${since} AND p.id <> $4 LIMIT ${WINDOW_ROWS_MAX}) d)`;

const TOKEN_SIGNALS = `
  WITH w AS (
    SELECT now() - make_interval(secs => $6) AS count_since, now() - make_interval(secs => $7) AS amount_since,
           now() - make_interval(days => $8) AS history_since, now() - make_interval(secs => $9) AS decline_since),
  history AS (SELECT p.amount FROM payments p, w
              WHERE p.tenant_id = $1 AND p.payment_method_token = $2 AND p.created_at >= w.history_since AND p.id <> $4
                AND p.status IN ('authorized', 'captured', 'settled', 'refunded', 'reversed')
              ORDER BY p.created_at DESC LIMIT ${HISTORY_ROWS_MAX})
  SELECT
    NULL::bigint AS account_age_seconds,
    (SELECT n FROM w, LATERAL ${tokenPaymentsSince('w.count_since')} x) AS recent_count,
    (SELECT total FROM w, LATERAL ${tokenPaymentsSince('w.amount_since')} x) AS recent_amount,
    (SELECT count(*) FROM history) AS history_count,
    (SELECT coalesce(sum(amount), 0) FROM history) AS history_amount,
    EXISTS (SELECT 1 FROM payments p WHERE p.tenant_id = $1 AND p.payment_method_token = $2 AND p.merchant_account_id = $3
              AND p.id <> $4 AND p.status IN ('captured', 'settled', 'refunded')) AS paid_before,
    0::bigint AS topup_amount, 0::bigint AS drained,
    (SELECT count(*) FROM (SELECT 1 FROM payments p, w
       WHERE p.tenant_id = $1 AND p.payment_method_token = $2 AND p.created_at >= w.decline_since AND p.id <> $4
         AND p.status = 'failed' AND p.failure_code IS DISTINCT FROM 'risk_blocked' AND p.failure_code IS DISTINCT FROM 'risk_declined'
         AND p.amount <= $10 LIMIT ${WINDOW_ROWS_MAX}) d) AS small_declines,
    EXISTS (SELECT 1 FROM risk_blocklist b WHERE b.tenant_id = $1
              AND ((b.type = 'card_token' AND b.value = $2 AND $11) OR (b.type = 'account' AND b.value = $3))) AS blocklisted,
    $5::bigint AS amount`;

/**
 * The signals of a payment before its authorization. A card or bank token is measured by its own
 * payments (the card has no account age; card testing counts its small declines); a wallet
 * payment as a transfer from the wallet to the merchant, and earlier wallet payments to the merchant count as paid before.
 */
export async function paymentRiskSignals(db: Db, input: PaymentRiskInput, windows: SignalWindows): Promise<RiskSignals> {
  const { method } = input;
  if (method.type === 'wallet') {
    const signals = await transferRiskSignals(db, {
      tenantId: input.tenantId, fromAccountId: method.accountId, toAccountId: input.merchantAccountId, amountMinor: input.amountMinor,
    }, windows);
    if (signals.paidPayeeBefore) return signals;
    const { rows } = await db.query(
      `SELECT EXISTS (SELECT 1 FROM payments p WHERE p.wallet_account_id = $1 AND p.merchant_account_id = $2 AND p.id <> $3
                        AND p.status IN ('captured', 'settled', 'refunded')) AS paid_before`,
      [method.accountId, input.merchantAccountId, input.paymentId],
    );
    return { ...signals, paidPayeeBefore: rows[0].paid_before as boolean };
  }
  const { rows } = await db.query(prepared('risk-token-signals', TOKEN_SIGNALS), [
    input.tenantId, method.token, input.merchantAccountId, input.paymentId, input.amountMinor,
    windows.countWindowSeconds, windows.amountWindowSeconds, windows.historyDays, windows.declineWindowSeconds,
    windows.smallAmountMax, method.type === 'card',
  ]);
  const row = rows[0] as Record<string, unknown>;
  return toSignals(row, method.type === 'card' ? toSafeInt(row.small_declines as string) : null);
}

function toSignals(row: Record<string, unknown>, smallDeclines: number | null): RiskSignals {
  const int = (name: string) => toSafeInt(row[name] as string | number);
  return {
    amountMinor: int('amount'),
    recentCount: int('recent_count'),
    recentAmountMinor: int('recent_amount'),
    historyCount: int('history_count'),
    historyAmountMinor: int('history_amount'),
    paidPayeeBefore: row.paid_before as boolean,
    accountAgeSeconds: row.account_age_seconds === null ? null : int('account_age_seconds'),
    recentTopupMinor: int('topup_amount'),
    drainedSinceTopupMinor: int('drained'),
    smallDeclines,
    blocklisted: row.blocklisted as boolean,
  };
}
