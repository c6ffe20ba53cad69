import { createRoute, z } from '@hono/zod-openapi';
import type pg from 'pg';
import type { P2PTransferInput } from '../../workflows/wallet/types.js';
import { errors } from '../../domain/errors.js';
import { newId, workflowIds } from '../../domain/ids.js';
import { toSafeInt } from '../../platform/db.js';
import { requireTenantAccount } from '../accounts/lookup.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { Amount, commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';
import { startAndWait } from '../workflow-start.js';

const CreateTransfer = z
  .strictObject({
    from_account_id: z.string().min(1).max(100),
    to_account_id: z.string().min(1).max(100),
    amount: Amount,
    currency: Currency,
    description: z.string().max(500).optional(),
  })
  .openapi('CreateTransfer');

const TransferBody = z
  .object({
    id: z.string(),
    object: z.literal('transfer'),
    status: z.enum(['pending', 'succeeded', 'failed']),
    failure_code: z.enum(['insufficient_funds', 'limit_exceeded', 'account_unavailable', 'canceled']).nullable(),
    from_account_id: z.string(),
    to_account_id: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    description: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Transfer');

type TransferJson = z.infer<typeof TransferBody>;

async function findTransfer(pool: pg.Pool, tenantId: string, id: string): Promise<TransferJson | null> {
  const { rows } = await pool.query('SELECT * FROM transfers WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id, object: 'transfer', status: r.status, failure_code: r.failure_code ?? null,
    from_account_id: r.from_account_id, to_account_id: r.to_account_id, amount: toSafeInt(r.amount),
    currency: r.currency, description: r.description ?? null, created_at: (r.created_at as Date).toISOString(),
  };
}

const createTransfer = createRoute({
  method: 'post', path: '/', tags: ['Wallet'],
  summary: 'Move money between two accounts (P2P, or pay a merchant) through the transfer workflow',
  description: 'Answers 201 when the workflow finished within the wait window, else 202 with status "pending".',
  request: { body: jsonBody(CreateTransfer), headers: idempotencyHeader },
  responses: {
    201: jsonResponse('Finished (succeeded or failed)', TransferBody),
    202: jsonResponse('Still running', TransferBody),
    ...commonErrors,
  },
});

const getTransfer = createRoute({
  method: 'get', path: '/{id}', tags: ['Wallet'], summary: 'A transfer',
  request: { params: IdParam },
  responses: { 200: jsonResponse('The transfer', TransferBody), ...commonErrors },
});

export function transferRoutes({ pool, temporal, config }: AppDeps) {
  return createRouter()
    .openapi(createTransfer, async (c) => {
      const tenantId = tenantOf(c);
      const body = c.req.valid('json');
      if (body.from_account_id === body.to_account_id) throw errors.sameAccount();
      const from = await requireTenantAccount(pool, tenantId, body.from_account_id, 'from_account_id');
      const to = await requireTenantAccount(pool, tenantId, body.to_account_id, 'to_account_id');
      if (from.type !== 'user') throw errors.parameterInvalid('from_account_id', 'Transfers are paid from user accounts.');
      if (from.currency !== body.currency || to.currency !== body.currency) throw errors.currencyMismatch();

      const id = newId('transfer');
      await pool.query(
        `INSERT INTO transfers (id, tenant_id, from_account_id, to_account_id, amount, currency, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, tenantId, from.id, to.id, body.amount, body.currency, body.description ?? null],
      );
      const input: P2PTransferInput = {
        tenantId, transferId: id, fromAccountId: from.id, toAccountId: to.id, amountMinor: body.amount, currency: body.currency,
      };
      const done = await startAndWait({
        temporal, workflowType: 'p2pTransfer', workflowId: workflowIds.transfer(id),
        taskQueue: config.TASK_QUEUE_WALLET, tenantId, input, waitMs: config.API_WAIT_WINDOW_MS,
        // Not started: nothing happened, so nothing stays behind (the client may retry).
        undoIfNotStarted: () => pool.query(`DELETE FROM transfers WHERE id = $1 AND status = 'pending' AND hold_id IS NULL`, [id]),
      });
      const transfer = (await findTransfer(pool, tenantId, id))!;
      return c.json(transfer, done && transfer.status !== 'pending' ? 201 : 202);
    })
    .openapi(getTransfer, async (c) => {
      const transfer = await findTransfer(pool, tenantOf(c), c.req.valid('param').id);
      if (!transfer) throw errors.resourceMissing('transfer');
      return c.json(transfer, 200);
    });
}
