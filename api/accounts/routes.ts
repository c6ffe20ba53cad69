import { createRoute, z } from '@hono/zod-openapi';
import { insertAccount } from '../../store/ledger/accounts.js';
import { listEntries } from '../../store/ledger/transactions.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import {
  Amount, commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf, Metadata,
} from '../schemas.js';
import { requireTenantAccount } from './lookup.js';
import { AccountBody, EntryBody, serializeAccount, serializeEntry } from './serialize.js';

const CreateAccount = z
  .strictObject({
    type: z.enum(['user', 'merchant']),
    currency: Currency,
    owner_id: z.string().min(1).max(255).optional(),
    limits: z.strictObject({ per_transaction_max: Amount.optional(), daily_debit_max: Amount.optional() }).optional(),
    metadata: Metadata.optional(),
  })
  .openapi('CreateAccount');

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

export function accountRoutes({ pool }: AppDeps) {
  return createRouter()
    .openapi(createAccount, async (c) => {
      const body = c.req.valid('json');
      const account = await insertAccount(pool, {
        tenantId: tenantOf(c),
        type: body.type,
        currency: body.currency,
        ownerId: body.owner_id ?? null,
        limits: body.limits ?? {},
        metadata: body.metadata ?? {},
      });
      return c.json(serializeAccount(account), 201);
    })
    .openapi(getAccount, async (c) => {
      const account = await requireTenantAccount(pool, tenantOf(c), c.req.valid('param').id);
      return c.json(serializeAccount(account), 200);
    })
    .openapi(listAccountEntries, async (c) => {
      const account = await requireTenantAccount(pool, tenantOf(c), c.req.valid('param').id);
      const query = c.req.valid('query');
      const page = await listEntries(pool, account.id, { limit: query.limit, startingAfter: query.starting_after });
      return c.json({ object: 'list' as const, data: page.data.map(serializeEntry), has_more: page.has_more }, 200);
    });
}
