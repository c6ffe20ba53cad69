import { createRoute, z } from '@hono/zod-openapi';
import type pg from 'pg';
import type { TopUpInput } from '../../workflows/wallet/types.js';
import { errors } from '../../domain/errors.js';
import { newId, workflowIds } from '../../domain/ids.js';
import { toSafeInt } from '../../platform/db.js';
import { requireTenantAccount } from '../accounts/lookup.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { Amount, commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';
import { startAndWait } from '../workflow-start.js';

const CreateTopUp = z
  .strictObject({
    account_id: z.string().min(1).max(100),
    amount: Amount,
    currency: Currency,
    source: z.strictObject({
      type: z.literal('bank_account'),
      token: z.string().min(1).max(255).openapi({ example: 'btok_success' }),
    }),
  })
  .openapi('CreateTopUp');

const TopUpBody = z
  .object({
    id: z.string(),
    object: z.literal('topup'),
    status: z.enum(['pending', 'succeeded', 'failed']),
    failure_code: z.enum(['bank_declined', 'account_unavailable', 'canceled']).nullable(),
    account_id: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    source: z.object({ type: z.literal('bank_account') }),
    created_at: z.string(),
  })
  .openapi('TopUp');

type TopUpJson = z.infer<typeof TopUpBody>;

async function findTopUp(pool: pg.Pool, tenantId: string, id: string): Promise<TopUpJson | null> {
  const { rows } = await pool.query('SELECT * FROM topups WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id, object: 'topup', status: r.status, failure_code: r.failure_code ?? null, account_id: r.account_id,
    amount: toSafeInt(r.amount), currency: r.currency, source: { type: r.source_type },
    created_at: (r.created_at as Date).toISOString(),
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

export function topUpRoutes({ pool, temporal, config }: AppDeps) {
  return createRouter()
    .openapi(createTopUp, async (c) => {
      const tenantId = tenantOf(c);
      const body = c.req.valid('json');
      const account = await requireTenantAccount(pool, tenantId, body.account_id, 'account_id');
      if (account.currency !== body.currency) throw errors.currencyMismatch();

      const id = newId('topup');
      await pool.query(
        `INSERT INTO topups (id, tenant_id, account_id, amount, currency, source_type, source_token)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, tenantId, account.id, body.amount, body.currency, body.source.type, body.source.token],
      );
      const input: TopUpInput = {
        tenantId, topupId: id, accountId: account.id, amountMinor: body.amount, currency: body.currency, source: body.source,
      };
      const done = await startAndWait({
        temporal, workflowType: 'topUp', workflowId: workflowIds.topup(id),
        taskQueue: config.TASK_QUEUE_WALLET, tenantId, input, waitMs: config.API_WAIT_WINDOW_MS,
        // Not started: nothing happened, so nothing stays behind (the client may retry).
        undoIfNotStarted: () => pool.query(`DELETE FROM topups WHERE id = $1 AND status = 'pending'`, [id]),
      });
      const topup = (await findTopUp(pool, tenantId, id))!;
      return c.json(topup, done && topup.status !== 'pending' ? 201 : 202);
    })
    .openapi(getTopUp, async (c) => {
      const topup = await findTopUp(pool, tenantOf(c), c.req.valid('param').id);
      if (!topup) throw errors.resourceMissing('topup');
      return c.json(topup, 200);
    });
}
