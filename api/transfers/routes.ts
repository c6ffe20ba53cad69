import { workflowContracts } from '../../workflows/contracts.js';
import { createRoute, z } from '@hono/zod-openapi';
import { errors } from '../errors.js';
import { TRANSFER_FAILURE_CODES } from '../../domain/wallet/failures.js';
import { TRANSFER_STATUSES, type Transfer } from '../../domain/wallet/types.js';
import { RiskBody, serializeRisk } from '../risk/serialize.js';
import {
  deleteUnstartedTransfer, findTransfer, insertOrAdoptQuotedTransfer, insertOrAdoptTransfer, listTransfers,
} from '../../store/wallet/transfers.js';
import { transferConversion } from './conversion.js';
import { requireTenantAccount } from '../accounts/lookup.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import {
  Amount, commonErrors, Currency, FreeText, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf,
} from '../schemas.js';
import { requestKeyOf, startAndWait } from '../workflow-start.js';

const CreateTransfer = z
  .strictObject({
    from_account_id: z.string().min(1).max(100),
    to_account_id: z.string().min(1).max(100),
    amount: Amount,
    currency: Currency,
    description: FreeText(500).optional(),
    quote_id: z.string().min(1).max(100).optional().openapi({
      description: 'Accounts of two currencies: an unexpired, unused FX quote (POST /v1/fx/quotes) from the payer’s to the payee’s currency, '
        + 'whose amount is `amount`. Same-currency transfers take none.',
    }),
  })
  .openapi('CreateTransfer');

const TransferBody = z
  .object({
    id: z.string(),
    object: z.literal('transfer'),
    status: z.enum(TRANSFER_STATUSES),
    failure_code: z.enum(TRANSFER_FAILURE_CODES).nullable(),
    from_account_id: z.string(),
    to_account_id: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    to_currency: z.string().nullable().openapi({ description: 'The payee’s currency when it differs (a conversion); else null.' }),
    converted_amount: z.number().int().nullable().openapi({ description: 'What the payee is credited, in `to_currency`; null when same-currency.' }),
    quote_id: z.string().nullable(),
    description: z.string().nullable(),
    risk: RiskBody,
    created_at: z.string(),
  })
  .openapi('Transfer');

function serializeTransfer(t: Transfer): z.infer<typeof TransferBody> {
  return {
    id: t.id, object: 'transfer', status: t.status, failure_code: t.failureCode,
    from_account_id: t.fromAccountId, to_account_id: t.toAccountId, amount: t.amountMinor,
    currency: t.currency, description: t.description, risk: serializeRisk(t.risk), created_at: t.createdAt.toISOString(),
    to_currency: t.toCurrency, converted_amount: t.convertedMinor, quote_id: t.quoteId,
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

const TransferListQuery = ListQuery.extend({
  account_id: z.string().min(1).max(100).optional().openapi({ description: 'Transfers from or to this account.' }),
  status: z.enum(TRANSFER_STATUSES).optional(),
  created_gte: z.string().datetime({ offset: true }).optional().openapi({ description: 'Created at or after (ISO 8601).' }),
  created_lt: z.string().datetime({ offset: true }).optional().openapi({ description: 'Created before (ISO 8601).' }),
});

const listTransferRoute = createRoute({
  method: 'get', path: '/', tags: ['Wallet'], summary: 'Transfers, newest first (by account, status, creation time)',
  request: { query: TransferListQuery },
  responses: { 200: jsonResponse('A page of transfers', listOf(TransferBody)), ...commonErrors },
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
      const conversion = await transferConversion(pool, tenantId, body, from.currency, to.currency);

      // A retry with the same Idempotency-Key adopts the transfer its first attempt wrote (and so
      // its run): one transfer per key, whatever happened to the first attempt.
      const newTransfer = {
        tenantId, fromAccountId: from.id, toAccountId: to.id, amountMinor: body.amount, currency: body.currency,
        description: body.description ?? null,
      };
      // Two currencies: the quote is claimed in the transaction that inserts the transfer (409 fx_quote_invalid).
      const { id, sameRequest } = conversion
        ? await insertOrAdoptQuotedTransfer(pool, { ...newTransfer, ...conversion }, requestKeyOf(c, config))
        : await insertOrAdoptTransfer(pool, newTransfer, requestKeyOf(c, config));
      if (!sameRequest) throw errors.idempotencyKeyReused();
      const done = await startAndWait({ temporal, config }, workflowContracts.p2pTransfer, {
        key: id, tenantId, waitMs: config.API_WAIT_WINDOW_MS,
        input: {
          tenantId, transferId: id, fromAccountId: from.id, toAccountId: to.id, amountMinor: body.amount, currency: body.currency,
          reviewTimeoutMs: config.RISK_REVIEW_TIMEOUT,
        },
        // A transfer the risk score sent to review waits for a person: answer 202 `in_review` then.
        answeredEarly: async () => (await findTransfer(pool, tenantId, id))?.status === 'in_review',
        // Definitely not started: nothing happened, so nothing stays behind (the client may retry).
        // Maybe started: the row stays pending (202) and the start reconciler sees it gets its run.
        undoIfNotStarted: () => deleteUnstartedTransfer(pool, id),
      });
      const transfer = (await findTransfer(pool, tenantId, id))!;
      const ended = transfer.status === 'succeeded' || transfer.status === 'failed';
      return c.json(serializeTransfer(transfer), done && ended ? 201 : 202);
    })
    .openapi(listTransferRoute, async (c) => {
      const q = c.req.valid('query');
      const page = await listTransfers(pool, tenantOf(c), {
        accountId: q.account_id, status: q.status,
        createdGte: q.created_gte === undefined ? undefined : new Date(q.created_gte),
        createdLt: q.created_lt === undefined ? undefined : new Date(q.created_lt),
      }, { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ ...page, data: page.data.map(serializeTransfer) }, 200);
    })
    .openapi(getTransfer, async (c) => {
      const transfer = await findTransfer(pool, tenantOf(c), c.req.valid('param').id);
      if (!transfer) throw errors.resourceMissing('transfer');
      return c.json(serializeTransfer(transfer), 200);
    });
}
