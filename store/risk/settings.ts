import { applyRiskSettingsPatch, DEFAULT_RISK_SETTINGS, type RiskSettingsPatch } from '../../domain/risk/settings.js';
import type { RiskSettings } from '../../domain/risk/types.js';
import type { Db } from '../db.js';

/**
 * The `risk_settings` table: one row per tenant that changed its settings, merged over the
 * defaults on every read (a default added in a later release reaches every tenant). Never cached:
 * contract §7 — fraud data is read live.
 */
export async function findRiskSettings(db: Db, tenantId: string): Promise<RiskSettings> {
  const { rows } = await db.query('SELECT settings FROM risk_settings WHERE tenant_id = $1', [tenantId]);
  const stored = rows[0]?.settings as RiskSettingsPatch | undefined;
  return stored ? applyRiskSettingsPatch(DEFAULT_RISK_SETTINGS, stored) : DEFAULT_RISK_SETTINGS;
}

/** Stores the tenant's whole settings (the caller merged and validated them). */
export async function saveRiskSettings(db: Db, tenantId: string, settings: RiskSettings): Promise<void> {
  await db.query(
    `INSERT INTO risk_settings (tenant_id, settings) VALUES ($1, $2)
     ON CONFLICT (tenant_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`,
    [tenantId, JSON.stringify(settings)],
  );
}
