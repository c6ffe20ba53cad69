import { createRoute, z } from '@hono/zod-openapi';
import { limitsView } from '../../domain/ledger/limits.js';
import { KYC_LEVELS } from '../../domain/ledger/types.js';
import { withTransaction } from '../../store/db.js';
import { insertAccount, updateAccount } from '../../store/ledger/accounts.js';
import { balanceAt, statementOf } from '../../store/ledger/history.js';
import { limitUsage } from '../../store/ledger/limits.js';
import { listEntries } from '../../store/ledger/transactions.js';
import { errors } from '../errors.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import {
  Amount, commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf, Metadata,
} from '../schemas.js';
import { requireTenantAccount } from './lookup.js';
import {
  AccountBody, BalanceBody, EntryBody, LimitsBody, serializeAccount, serializeEntry, serializeLimits, serializeStatement, StatementBody,
  statementCsv,
} from './serialize.js';

const KycLevel = z.enum(KYC_LEVELS).openapi({ description: 'KYC level: its tier’s limits apply with the account’s own (the lower holds).' });

const CreateAccount = z
  .strictObject({
    type: z.enum(['user', 'merchant']),
    currency: Currency,
    owner_id: z.string().min(1).max(255).optional(),
    kyc_level: KycLevel.optional(),
    limits: z
      .strictObject({
        per_transaction_max: Amount.optional(),
        daily_debit_max: Amount.optional(),
        monthly_debit_max: Amount.optional(),
        balance_max: Amount.optional().openapi({ description: 'User accounts: a credit above it fails `limit_exceeded`.' }),
      })
      .optional(),
    metadata: Metadata.optional(),
  })
  .openapi('CreateAccount');

/** Stripe-style update: a field left out keeps its value; a limit set to null is lifted. */
const UpdateAccount = z
  .strictObject({
    kyc_level: KycLevel.optional(),
    limits: z
      .strictObject({
        per_transaction_max: Amount.nullable().optional(),
        daily_debit_max: Amount.nullable().optional(),
        monthly_debit_max: Amount.nullable().optional(),
        balance_max: Amount.nullable().optional(),
      })
      .optional(),
  })
  .openapi('UpdateAccount');

const updateAccountRoute = createRoute({
  method: 'post', path: '/{id}', tags: ['Wallet'],
  summary: 'Update an account’s KYC level and limits (applies to the next transfer; audit-logged as account.update)',
  request: { params: IdParam, body: jsonBody(UpdateAccount), headers: idempotencyHeader },
  responses: { 200: jsonResponse('The account', AccountBody), ...commonErrors },
});

const getLimits = createRoute({
  method: 'get', path: '/{id}/limits', tags: ['Wallet'],
  summary: 'The limits in force (the lower of the account’s and its KYC tier’s) and what is used of them (UTC day, calendar month)',
  request: { params: IdParam },
  responses: { 200: jsonResponse('The account’s limits', LimitsBody), ...commonErrors },
});

const createAccount = createRoute({
  method: 'post', path: '/', tags: ['Wallet'], summary: 'Create a user or merchant account',
  request: { body: jsonBody(CreateAccount), headers: idempotencyHeader },
  responses: { 201: jsonResponse('The account', AccountBody), ...commonErrors },
});

const getAccount = createRoute({
  method: 'get', path: '/{id}', tags: ['Wallet'], summary: 'An account with its live balances (never cached)',
  request: { params: IdParam },
  responses: { 200: jsonResponse('The account', AccountBody), ...commonErrors },
});

const listAccountEntries = createRoute({
  method: 'get', path: '/{id}/entries', tags: ['Wallet'], summary: 'The account’s ledger entries, newest first',
  request: { params: IdParam, query: ListQuery },
  responses: { 200: jsonResponse('A page of entries', listOf(EntryBody)), ...commonErrors },
});

const getBalanceAt = createRoute({
  method: 'get', path: '/{id}/balance', tags: ['Wallet'], summary: 'The posted balance at an instant (from the ledger entries)',
  request: {
    params: IdParam,
    query: z.strictObject({ at: z.string().datetime({ offset: true }).optional().openapi({ description: 'ISO 8601 instant; default now.' }) }),
  },
  responses: { 200: jsonResponse('The balance at that instant', BalanceBody), ...commonErrors },
});

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'Expected YYYY-MM-DD.').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'Not a calendar day.');
/** A statement spans at most this many UTC days (contract §2). */
export const STATEMENT_DAYS_MAX = 366;
const DAY_MS = 86_400_000;

const getStatement = createRoute({
  method: 'get', path: '/{id}/statement', tags: ['Wallet'],
  summary: 'A statement of UTC days (inclusive): opening balance + credits − debits = closing balance',
  description: 'JSON, or CSV of the entries with `Accept: text/csv`.',
  request: { params: IdParam, query: z.strictObject({ from: Day, to: Day }) },
  responses: {
    200: {
      description: 'The statement',
      content: { 'application/json': { schema: StatementBody }, 'text/csv': { schema: z.string() } },
    },
    ...commonErrors,
  },
});

export function accountRoutes({ pool }: AppDeps) {
  return createRouter()
    .openapi(createAccount, async (c) => {
      const body = c.req.valid('json');
      const account = await insertAccount(pool, {
        tenantId: tenantOf(c),
        type: body.type,
        currency: body.currency,
        ownerId: body.owner_id ?? null,
        kycLevel: body.kyc_level ?? 'none',
        limits: body.limits ?? {},
        metadata: body.metadata ?? {},
      });
      return c.json(serializeAccount(account), 201);
    })
    .openapi(getAccount, async (c) => {
      const account = await requireTenantAccount(pool, tenantOf(c), c.req.valid('param').id);
      return c.json(serializeAccount(account), 200);
    })
    .openapi(updateAccountRoute, async (c) => {
      const tenantId = tenantOf(c);
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      // The audit event commits with the change (a refusal is recorded by the audit middleware).
      const account = await withTransaction(pool, async (client) => {
        const updated = await updateAccount(client, tenantId, id, { kycLevel: body.kyc_level, limits: body.limits });
        if (updated) await recordAuditInTransaction(client, c, { resourceId: id, status: 200 });
        return updated;
      });
      if (!account) throw errors.resourceMissing('account', 'id');
      return c.json(serializeAccount(account), 200);
    })
    .openapi(getLimits, async (c) => {
      const account = await requireTenantAccount(pool, tenantOf(c), c.req.valid('param').id);
      const now = new Date();
      const usage = await limitUsage(pool, account.tenantId, account.id, now);
      if (!usage) throw errors.resourceMissing('account', 'id');
      return c.json(serializeLimits(account, limitsView(account, usage.tier, usage, now)), 200);
    })
    .openapi(getBalanceAt, async (c) => {
      const account = await requireTenantAccount(pool, tenantOf(c), c.req.valid('param').id);
      const { at } = c.req.valid('query');
      const instant = at === undefined ? new Date() : new Date(at);
      const balance = await balanceAt(pool, account.id, instant);
      return c.json({ object: 'balance' as const, account_id: account.id, currency: account.currency, balance, at: instant.toISOString() }, 200);
    })
    .openapi(getStatement, async (c) => {
      const account = await requireTenantAccount(pool, tenantOf(c), c.req.valid('param').id);
      const { from, to } = c.req.valid('query');
      const fromAt = new Date(`${from}T00:00:00Z`);
      const toExclusive = new Date(new Date(`${to}T00:00:00Z`).getTime() + DAY_MS);
      const days = (toExclusive.getTime() - fromAt.getTime()) / DAY_MS;
      if (days < 1) throw errors.parameterInvalid('to', 'Must be on or after from.');
      if (days > STATEMENT_DAYS_MAX) throw errors.parameterInvalid('to', `A statement spans at most ${STATEMENT_DAYS_MAX} days.`);
      const statement = await statementOf(pool, account.id, fromAt, toExclusive);
      if (/\btext\/csv\b/i.test(c.req.header('accept') ?? '')) {
        return c.body(statementCsv(statement), 200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="statement-${account.id}-${from}-${to}.csv"`,
        });
      }
      return c.json(serializeStatement(account, from, to, statement), 200);
    })
    .openapi(listAccountEntries, async (c) => {
      const account = await requireTenantAccount(pool, tenantOf(c), c.req.valid('param').id);
      const query = c.req.valid('query');
      const page = await listEntries(pool, account.id, { limit: query.limit, startingAfter: query.starting_after });
      return c.json({ object: 'list' as const, data: page.data.map(serializeEntry), has_more: page.has_more }, 200);
    });
}
