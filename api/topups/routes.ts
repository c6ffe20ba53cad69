import { workflowContracts } from '../../workflows/contracts.js';
import { createRoute, z } from '@hono/zod-openapi';
import { errors } from '../errors.js';
import { TOPUP_FAILURE_CODES } from '../../domain/wallet/failures.js';
import { WALLET_OPERATION_STATUSES, type TopUp } from '../../domain/wallet/types.js';
import { deleteUnstartedTopUp, findTopUp, insertOrAdoptTopUp, listTopUps } from '../../store/wallet/topups.js';
import { requireTenantAccount } from '../accounts/lookup.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { Amount, commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf, Token } from '../schemas.js';
import { requestKeyOf, startAndWait } from '../workflow-start.js';

const CreateTopUp = z
  .strictObject({
    account_id: z.string().min(1).max(100),
    amount: Amount,
    currency: Currency,
    source: z.strictObject({
      type: z.literal('bank_account'),
      token: Token('bank'),
    }),
  })
  .openapi('CreateTopUp');

const TopUpBody = z
  .object({
    id: z.string(),
    object: z.literal('topup'),
    status: z.enum(['pending', 'succeeded', 'failed']),
    failure_code: z.enum(TOPUP_FAILURE_CODES).nullable(),
    account_id: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    source: z.object({ type: z.literal('bank_account') }),
    created_at: z.string(),
  })
  .openapi('TopUp');

function serializeTopUp(t: TopUp): z.infer<typeof TopUpBody> {
  return {
    id: t.id, object: 'topup', status: t.status, failure_code: t.failureCode, account_id: t.accountId,
    amount: t.amountMinor, currency: t.currency, source: { type: t.sourceType },
    created_at: t.createdAt.toISOString(),
  };
}

const createTopUp = createRoute({
  method: 'post', path: '/', tags: ['Wallet'],
  summary: 'Fund a wallet from a bank account through the top-up workflow',
  description: 'Answers 201 when the workflow finished within the wait window, else 202 with status "pending".',
  request: { body: jsonBody(CreateTopUp), headers: idempotencyHeader },
  responses: {
    201: jsonResponse('Finished (succeeded or failed)', TopUpBody),
    202: jsonResponse('Still running', TopUpBody),
    ...commonErrors,
  },
});

const getTopUp = createRoute({
  method: 'get', path: '/{id}', tags: ['Wallet'], summary: 'A top-up',
  request: { params: IdParam },
  responses: { 200: jsonResponse('The top-up', TopUpBody), ...commonErrors },
});

const listTopUpRoute = createRoute({
  method: 'get', path: '/', tags: ['Wallet'], summary: 'Top-ups, newest first (by account, status)',
  request: {
    query: ListQuery.extend({
      account_id: z.string().min(1).max(100).optional(),
      status: z.enum(WALLET_OPERATION_STATUSES).optional(),
    }),
  },
  responses: { 200: jsonResponse('A page of top-ups', listOf(TopUpBody)), ...commonErrors },
});

export function topUpRoutes({ pool, temporal, config }: AppDeps) {
  return createRouter()
    .openapi(createTopUp, async (c) => {
      const tenantId = tenantOf(c);
      const body = c.req.valid('json');
      const account = await requireTenantAccount(pool, tenantId, body.account_id, 'account_id');
      if (account.currency !== body.currency) throw errors.currencyMismatch();

      // A retry with the same Idempotency-Key adopts the top-up its first attempt wrote (and its run).
      const { id, sameRequest } = await insertOrAdoptTopUp(pool, {
        tenantId, accountId: account.id, amountMinor: body.amount, currency: body.currency, source: body.source,
      }, requestKeyOf(c, config));
      if (!sameRequest) throw errors.idempotencyKeyReused();
      const done = await startAndWait({ temporal, config }, workflowContracts.topUp, {
        key: id, tenantId, waitMs: config.API_WAIT_WINDOW_MS,
        input: { tenantId, topupId: id, accountId: account.id, amountMinor: body.amount, currency: body.currency, source: body.source },
        // Definitely not started: nothing happened, so nothing stays behind (the client may retry).
        // Maybe started: the row stays pending (202) and the start reconciler sees it gets its run.
        undoIfNotStarted: () => deleteUnstartedTopUp(pool, id),
      });
      const topup = (await findTopUp(pool, tenantId, id))!;
      return c.json(serializeTopUp(topup), done && topup.status !== 'pending' ? 201 : 202);
    })
    .openapi(listTopUpRoute, async (c) => {
      const q = c.req.valid('query');
      const page = await listTopUps(pool, tenantOf(c), { accountId: q.account_id, status: q.status }, { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ ...page, data: page.data.map(serializeTopUp) }, 200);
    })
    .openapi(getTopUp, async (c) => {
      const topup = await findTopUp(pool, tenantOf(c), c.req.valid('param').id);
      if (!topup) throw errors.resourceMissing('topup');
      return c.json(serializeTopUp(topup), 200);
    });
}
