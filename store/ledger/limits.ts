import { limitWindows } from '../../domain/ledger/limits.js';
import { firstIdAt } from '../../domain/ids.js';
import type { AccountLimits } from '../../domain/ledger/types.js';
import { toSafeInt, type Db } from '../db.js';
import { limitsColumn } from './accounts.js';

/**
 * What counts against an account's debit limits now, read in ONE statement (one snapshot): its
 * KYC tier's limits (null: no tier for its level and currency) and its use of the day and month
 * windows — posted debits since the window began plus `held`, the sums `ledger_place_hold`
 * checks under the account's lock (schema/0015).
 */
export interface LimitUsage {
  tier: AccountLimits | null;
  todayMinor: number;
  monthMinor: number;
}

const tierLimits = limitsColumn('tier_');

export async function limitUsage(db: Db, tenantId: string, accountId: string, now: Date): Promise<LimitUsage | null> {
  const windows = limitWindows(now);
  const { rows } = await db.query(
    `SELECT t.level IS NOT NULL AS has_tier, t.per_transaction_max AS tier_per_transaction_max,
            t.daily_debit_max AS tier_daily_debit_max, t.monthly_debit_max AS tier_monthly_debit_max,
            t.balance_max AS tier_balance_max,
            a.held + (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                      WHERE e.account_id = a.id AND e.id >= $3 AND e.direction = 'debit') AS used_today,
            a.held + (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                      WHERE e.account_id = a.id AND e.id >= $4 AND e.direction = 'debit') AS used_month
     FROM accounts a
     LEFT JOIN kyc_tiers t ON t.tenant_id = a.tenant_id AND t.level = a.kyc_level AND t.currency = a.currency
     WHERE a.id = $1 AND a.tenant_id = $2`,
    [accountId, tenantId, firstIdAt('entry', windows.day.startsAt.getTime()), firstIdAt('entry', windows.month.startsAt.getTime())],
  );
  const row = rows[0] as Record<string, unknown> | undefined;
  if (!row) return null;
  return {
    tier: row.has_tier ? tierLimits.read(row) : null,
    todayMinor: toSafeInt(row.used_today as string),
    monthMinor: toSafeInt(row.used_month as string),
  };
}
