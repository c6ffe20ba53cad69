import type pg from 'pg';
import type { Account } from '../../domain/ledger/types.js';
import { findAccount } from '../../store/ledger/accounts.js';
import { errors } from '../errors.js';

/**
 * A tenant's own user or merchant account, else 404 `resource_missing`: another tenant's id and
 * the internal system accounts look exactly like ids that do not exist.
 */
export async function requireTenantAccount(pool: pg.Pool, tenantId: string, accountId: string, param?: string): Promise<Account> {
  const account = await findAccount(pool, tenantId, accountId);
  if (!account || account.type === 'system') throw errors.resourceMissing('account', param);
  return account;
}
