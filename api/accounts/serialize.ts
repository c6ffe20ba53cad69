import { z } from '@hono/zod-openapi';
import type { Account, Entry } from '../../domain/ledger/types.js';

export const AccountBody = z
  .object({
    id: z.string().openapi({ example: 'acct_01JD3W6Q4M1Y2Z3X4C5V6B7N8M' }),
    object: z.literal('account'),
    type: z.enum(['user', 'merchant']),
    currency: z.string(),
    owner_id: z.string().nullable(),
    balance: z.number().int().openapi({ description: 'Posted credits minus posted debits, minor units.' }),
    available_balance: z.number().int().openapi({ description: 'Balance minus active holds.' }),
    limits: z.object({ per_transaction_max: z.number().int().nullable(), daily_debit_max: z.number().int().nullable() }),
    metadata: z.record(z.string(), z.string()),
    created_at: z.string(),
  })
  .openapi('Account');

export function serializeAccount(account: Account): z.infer<typeof AccountBody> {
  return {
    id: account.id,
    object: 'account',
    type: account.type as 'user' | 'merchant',
    currency: account.currency,
    owner_id: account.ownerId,
    balance: account.balanceMinor,
    available_balance: account.balanceMinor - account.heldMinor,
    limits: account.limits,
    metadata: account.metadata,
    created_at: account.createdAt.toISOString(),
  };
}

export const EntryBody = z
  .object({
    id: z.string(),
    object: z.literal('ledger_entry'),
    transaction_id: z.string(),
    direction: z.enum(['debit', 'credit']),
    amount: z.number().int(),
    currency: z.string(),
    created_at: z.string(),
  })
  .openapi('LedgerEntry');

export function serializeEntry(entry: Entry): z.infer<typeof EntryBody> {
  return {
    id: entry.id,
    object: 'ledger_entry',
    transaction_id: entry.transactionId,
    direction: entry.direction,
    amount: entry.amountMinor,
    currency: entry.currency,
    created_at: entry.createdAt.toISOString(),
  };
}
