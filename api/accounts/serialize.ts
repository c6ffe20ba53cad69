import { z } from '@hono/zod-openapi';
import type { LimitsView, WindowUse } from '../../domain/ledger/limits.js';
import { KYC_LEVELS, type Account, type Entry } from '../../domain/ledger/types.js';
import type { Statement } from '../../store/ledger/history.js';

export const AccountBody = z
  .object({
    id: z.string().openapi({ example: 'acct_01JD3W6Q4M1Y2Z3X4C5V6B7N8M' }),
    object: z.literal('account'),
    type: z.enum(['user', 'merchant']),
    currency: z.string(),
    owner_id: z.string().nullable(),
    balance: z.number().int().openapi({ description: 'Posted credits minus posted debits, minor units.' }),
    available_balance: z.number().int().openapi({ description: 'Balance minus active holds.' }),
    kyc_level: z.enum(KYC_LEVELS).openapi({ description: 'Picks the KYC tier whose limits apply with the account’s own (the lower holds).' }),
    limits: z
      .object({
        per_transaction_max: z.number().int().nullable(),
        daily_debit_max: z.number().int().nullable(),
        monthly_debit_max: z.number().int().nullable(),
        balance_max: z.number().int().nullable(),
      })
      .openapi({ description: 'The account’s own limits (null: none); `GET /v1/accounts/{id}/limits` shows those in force.' }),
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
    kyc_level: account.kycLevel,
    balance: account.balanceMinor,
    available_balance: account.balanceMinor - account.heldMinor,
    limits: account.limits,
    metadata: account.metadata,
    created_at: account.createdAt.toISOString(),
  };
}

const WindowBody = z.object({
  max: z.number().int().nullable(),
  used: z.number().int().openapi({ description: 'Posted debits since the window began plus active holds.' }),
  remaining: z.number().int().nullable(),
  resets_at: z.string(),
});

export const LimitsBody = z
  .object({
    object: z.literal('account_limits'),
    account_id: z.string(),
    currency: z.string(),
    kyc_level: z.enum(KYC_LEVELS),
    per_transaction_max: z.number().int().nullable(),
    daily: WindowBody.openapi({ description: 'The UTC day.' }),
    monthly: WindowBody.openapi({ description: 'The calendar month (UTC).' }),
    balance_max: z.number().int().nullable(),
  })
  .openapi('AccountLimits');

const serializeWindow = (w: WindowUse): z.infer<typeof WindowBody> =>
  ({ max: w.max, used: w.usedMinor, remaining: w.remaining, resets_at: w.resetsAt.toISOString() });

export function serializeLimits(account: Account, view: LimitsView): z.infer<typeof LimitsBody> {
  return {
    object: 'account_limits', account_id: account.id, currency: account.currency, kyc_level: account.kycLevel,
    per_transaction_max: view.perTransactionMax, daily: serializeWindow(view.daily), monthly: serializeWindow(view.monthly),
    balance_max: view.balanceMax,
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

export const BalanceBody = z
  .object({ object: z.literal('balance'), account_id: z.string(), currency: z.string(), balance: z.number().int(), at: z.string() })
  .openapi('BalanceAt');

const StatementEntryBody = z.object({
  id: z.string(),
  transaction_id: z.string(),
  direction: z.enum(['debit', 'credit']),
  amount: z.number().int(),
  balance_after: z.number().int(),
  description: z.string(),
  created_at: z.string(),
});

export const StatementBody = z
  .object({
    object: z.literal('statement'),
    account_id: z.string(),
    currency: z.string(),
    from: z.string(),
    to: z.string(),
    opening_balance: z.number().int(),
    closing_balance: z.number().int(),
    total_debits: z.number().int(),
    total_credits: z.number().int(),
    entries: z.array(StatementEntryBody),
  })
  .openapi('Statement');

const statementEntry = (e: Statement['entries'][number]): z.infer<typeof StatementEntryBody> => ({
  id: e.id, transaction_id: e.transactionId, direction: e.direction, amount: e.amountMinor, balance_after: e.balanceAfterMinor,
  description: e.description, created_at: e.createdAt.toISOString(),
});

export function serializeStatement(account: Account, from: string, to: string, s: Statement): z.infer<typeof StatementBody> {
  return {
    object: 'statement', account_id: account.id, currency: account.currency, from, to,
    opening_balance: s.openingBalanceMinor, closing_balance: s.closingBalanceMinor,
    total_debits: s.totalDebitsMinor, total_credits: s.totalCreditsMinor, entries: s.entries.map(statementEntry),
  };
}

const CSV_COLUMNS = ['id', 'transaction_id', 'direction', 'amount', 'balance_after', 'description', 'created_at'] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. A text field
 * that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with
 * `'` (OWASP "CSV injection"): descriptions are the client's words. Numbers are written as they are.
 */
export function csvField(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The statement's entries as CSV with a header row (CRLF line ends, RFC 4180). */
export function statementCsv(s: Statement): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of s.entries.map(statementEntry)) lines.push(CSV_COLUMNS.map((column) => csvField(e[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
