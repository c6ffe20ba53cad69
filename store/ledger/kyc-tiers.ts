import type { AccountLimits, KycLevel, KycTier } from '../../domain/ledger/types.js';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';
import { limitsColumn } from './accounts.js';

/**
 * The `kyc_tiers` table (schema/0015): a tenant's limits per KYC level and currency. Read by every
 * limited ledger write under the account's lock (ledger_place_hold, ledger_balance_cap), never
 * cached: a change applies to the next transfer.
 */

/** At most one tier per level and currency: 3 levels × the ISO currencies bound a tenant's list. */
export const KYC_TIERS_PER_TENANT_MAX = 3 * 300;

const tierRow = rowMapper<KycTier>({
  tenantId: col.text('tenant_id'),
  level: col.of<KycLevel>('level'),
  currency: col.text('currency'),
  limits: limitsColumn(),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
});

/** Sets a tier's limits (all four: a limit left null is none), creating the tier if needed. */
export async function upsertKycTier(
  db: Db, tier: { tenantId: string; level: KycLevel; currency: string; limits: AccountLimits },
): Promise<KycTier> {
  const { rows } = await db.query(
    `INSERT INTO kyc_tiers AS t (tenant_id, level, currency, per_transaction_max, daily_debit_max, monthly_debit_max, balance_max)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (tenant_id, level, currency) DO UPDATE SET
       per_transaction_max = EXCLUDED.per_transaction_max, daily_debit_max = EXCLUDED.daily_debit_max,
       monthly_debit_max = EXCLUDED.monthly_debit_max, balance_max = EXCLUDED.balance_max, updated_at = now()
     RETURNING ${tierRow.columns('t')}`,
    [
      tier.tenantId, tier.level, tier.currency, tier.limits.per_transaction_max, tier.limits.daily_debit_max,
      tier.limits.monthly_debit_max, tier.limits.balance_max,
    ],
  );
  return tierRow.map(rows[0]);
}

/** A tenant's tiers, by level then currency, optionally of one level or one currency. */
export async function listKycTiers(db: Db, tenantId: string, filter: { level?: KycLevel; currency?: string } = {}): Promise<KycTier[]> {
  const { rows } = await db.query(
    `SELECT ${tierRow.columns()} FROM kyc_tiers
     WHERE tenant_id = $1 AND ($2::text IS NULL OR level = $2) AND ($3::text IS NULL OR currency = $3)
     ORDER BY array_position(ARRAY['none', 'basic', 'full'], level), currency LIMIT $4`,
    [tenantId, filter.level ?? null, filter.currency ?? null, KYC_TIERS_PER_TENANT_MAX],
  );
  return rows.map(tierRow.map);
}
