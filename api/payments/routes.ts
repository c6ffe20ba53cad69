import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import { createRoute, z } from '@hono/zod-openapi';
import { ApiError, errors } from '../errors.js';
import { newId } from '../../domain/ids.js';
import { PAYMENT_STATUSES } from '../../domain/payments/state-machine.js';
import type { Payment } from '../../domain/payments/types.js';
import { deleteInitiatedPayment, findPayment, hasEventOfRequest, insertOrAdoptPayment, listEvents, listPayments } from '../../store/payments/payments.js';
import { findRefund, findRefundByRequestKey } from '../../store/payments/refunds.js';
import { releaseExpiredRequestKey } from '../../store/start-requests.js';
import {
  cancelUpdate, captureUpdate, isAnswered, refundUpdate, UNTIL_ANSWERED_UPDATE_ID, untilAnsweredUpdate,
} from '../../workflows/payments/types.js';
import { requireTenantAccount } from '../accounts/lookup.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import {
  Amount, commonErrors, Currency, FreeText, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf, Metadata, Token,
} from '../schemas.js';
import { requestKeyOf, startWithUpdate, waitUntil } from '../workflow-start.js';
import { updateIdOf } from '../workflow-updates.js';
import { PaymentBody, PaymentEventBody, RefundBody, serializeEvent, serializePayment, serializeRefund } from './serialize.js';
import { paymentUpdate } from './workflow-errors.js';

const CreatePayment = z
  .strictObject({
    amount: Amount,
    currency: Currency,
    merchant_account_id: z.string().min(1).max(100),
    payment_method: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('card'), token: Token('card') }),
      z.strictObject({ type: z.literal('bank_transfer'), token: Token('bank') }),
      z.strictObject({ type: z.literal('wallet'), account_id: z.string().min(1).max(100) }),
    ]),
    capture_method: z.enum(['automatic', 'manual']).default('automatic'),
    description: FreeText(500).optional(),
    metadata: Metadata.optional(),
  })
  .openapi('CreatePayment');

const Capture = z.strictObject({ amount: Amount.optional() });
const Cancel = z.strictObject({ reason: FreeText(500).optional() });
const CreateRefund = z.strictObject({ amount: Amount.optional() });
const PaymentListQuery = ListQuery.extend({ status: z.enum(PAYMENT_STATUSES).optional() });

const paymentResponse = (description: string) => jsonResponse(description, PaymentBody);
const actionRequest = <T extends z.ZodTypeAny>(body: T) =>
  ({ params: IdParam, body: { ...jsonBody(body), required: false }, headers: idempotencyHeader });

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Payments'], summary: 'Create a payment: the payment saga authorizes (and captures)',
    description: '201 once the payment is final or waiting (authorized, manual capture) within the wait window, else 202.',
    request: { body: jsonBody(CreatePayment), headers: idempotencyHeader },
    responses: { 201: paymentResponse('Settled on a final or waiting state'), 202: paymentResponse('Still running'), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Payments'], summary: 'A payment', request: { params: IdParam },
    responses: { 200: paymentResponse('The payment'), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags: ['Payments'], summary: 'Payments, newest first', request: { query: PaymentListQuery },
    responses: { 200: jsonResponse('A page of payments', listOf(PaymentBody)), ...commonErrors },
  }),
  events: createRoute({
    method: 'get', path: '/{id}/events', tags: ['Payments'], summary: 'The payment’s append-only event log, oldest first',
    request: { params: IdParam, query: ListQuery },
    responses: { 200: jsonResponse('A page of events', listOf(PaymentEventBody)), ...commonErrors },
  }),
  capture: createRoute({
    method: 'post', path: '/{id}/capture', tags: ['Payments'], summary: 'Capture an authorized payment (all or part; the rest is released)',
    request: actionRequest(Capture), responses: { 200: paymentResponse('The captured payment'), ...commonErrors },
  }),
  cancel: createRoute({
    method: 'post', path: '/{id}/cancel', tags: ['Payments'], summary: 'Cancel: void an authorization, or reverse an unsettled capture',
    request: actionRequest(Cancel), responses: { 200: paymentResponse('The reversed payment'), ...commonErrors },
  }),
  refund: createRoute({
    method: 'post', path: '/{id}/refunds', tags: ['Payments'], summary: 'Refund all or part of the captured amount',
    request: actionRequest(CreateRefund), responses: { 201: jsonResponse('The refund', RefundBody), ...commonErrors },
  }),
};

/** Settled enough to answer 201: final, captured, or waiting for a manual capture. */
/** Settled on a final or waiting state: also a payment waiting for its risk review (still `initiated`). */
const answered = (p: Payment) => isAnswered(p.status, p.captureMethod) || (p.status === 'initiated' && p.risk?.decision === 'review');
// (The saga answers `untilAnswered` for a review only once the review is on record.)

export function paymentRoutes({ pool, temporal, config }: AppDeps) {
  const requirePayment = async (tenantId: string, id: string) => {
    const payment = await findPayment(pool, tenantId, id);
    if (!payment) throw errors.resourceMissing('payment', 'id');
    return payment;
  };
  const saga = (id: string) => temporal.workflow.getHandle(workflowIdOf(workflowContracts.paymentSaga, id));
  /**
   * The refund an earlier attempt of this request (same Idempotency-Key) created, if any. The key on
   * another payment, or for another amount, is another request: 422. (No amount asks for "the
   * rest", which the first attempt turned into an amount: it matches.)
   */
  const earlierRefund = async (tenantId: string, paymentId: string, requestKey: string, amountMinor: number | undefined) => {
    await releaseExpiredRequestKey(pool, 'refunds', tenantId, requestKey, config.IDEMPOTENCY_RETENTION_HOURS);
    const earlier = await findRefundByRequestKey(pool, tenantId, requestKey);
    if (earlier && (earlier.paymentId !== paymentId || (amountMinor !== undefined && amountMinor !== earlier.amountMinor))) {
      throw errors.idempotencyKeyReused();
    }
    return earlier;
  };

  return createRouter()
    .openapi(routes.create, async (c) => {
      const tenantId = tenantOf(c);
      const body = c.req.valid('json');
      const merchant = await requireTenantAccount(pool, tenantId, body.merchant_account_id, 'merchant_account_id');
      if (merchant.type !== 'merchant') throw errors.parameterInvalid('merchant_account_id', 'Must be a merchant account.');
      if (merchant.currency !== body.currency) throw errors.currencyMismatch();
      const method = body.payment_method;
      if (method.type === 'wallet') {
        const wallet = await requireTenantAccount(pool, tenantId, method.account_id, 'payment_method[account_id]');
        if (wallet.type !== 'user') throw errors.parameterInvalid('payment_method[account_id]', 'Must be a user account.');
        if (wallet.currency !== body.currency) throw errors.currencyMismatch();
      }
      // A retry with the same Idempotency-Key adopts the payment its first attempt wrote (and its saga).
      const { payment: written, sameRequest } = await insertOrAdoptPayment(pool, {
        id: newId('payment'), tenantId, merchantAccountId: merchant.id, amountMinor: body.amount, currency: body.currency,
        captureMethod: body.capture_method, description: body.description ?? null, metadata: body.metadata ?? {},
        paymentMethod: method.type === 'wallet' ? { type: 'wallet', accountId: method.account_id } : { type: method.type, token: method.token },
      }, requestKeyOf(c, config));
      if (!sameRequest) throw errors.idempotencyKeyReused();
      const id = written.id;
      const deadline = Date.now() + config.API_WAIT_WINDOW_MS;
      // The saga answers the Update once the payment is answered: no polling of the row meanwhile.
      const { outcome, update } = await startWithUpdate({ temporal, config }, workflowContracts.paymentSaga, {
        key: id, tenantId, update: untilAnsweredUpdate, updateId: UNTIL_ANSWERED_UPDATE_ID, waitMs: config.API_WAIT_WINDOW_MS,
        input: {
          tenantId, paymentId: id, amountMinor: body.amount, currency: body.currency, merchantAccountId: merchant.id,
          paymentMethod: method.type === 'wallet' ? { type: 'wallet', accountId: method.account_id } : method,
          captureMethod: body.capture_method, authorizationTtlMs: config.AUTHORIZATION_TTL, refundWindowMs: config.REFUND_WINDOW,
          reviewTimeoutMs: config.RISK_REVIEW_TIMEOUT,
        },
        // Definitely not started: nothing happened. Maybe started: it stays `initiated` (202) and
        // the start reconciler sees it gets its saga.
        undoIfNotStarted: () => deleteInitiatedPayment(pool, id),
      });
      // PostgreSQL answers (the source of truth), read once when the Update returned or the window
      // passed; polled for the rest of the window when no Update could answer (an older worker, a
      // closed run). Ambiguous: there may be no run yet to wait for (the reconciler starts it).
      const pollMs = update.kind === 'no_answer' || outcome === 'exists' ? deadline - Date.now() : 0;
      let payment = (await findPayment(pool, tenantId, id))!;
      const done = answered(payment)
        || (pollMs > 0 && await waitUntil(async () => answered((payment = (await findPayment(pool, tenantId, id))!)), pollMs));
      return c.json(serializePayment(payment), done ? 201 : 202);
    })
    .openapi(routes.get, async (c) => c.json(serializePayment(await requirePayment(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const page = await listPayments(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after, status: q.status });
      return c.json({ ...page, data: page.data.map(serializePayment) }, 200);
    })
    .openapi(routes.events, async (c) => {
      const payment = await requirePayment(tenantOf(c), c.req.valid('param').id);
      const q = c.req.valid('query');
      const page = await listEvents(pool, payment.tenantId, payment.id, { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ ...page, data: page.data.map(serializeEvent) }, 200);
    })
    .openapi(routes.capture, async (c) => {
      const payment = await requirePayment(tenantOf(c), c.req.valid('param').id);
      const { amount } = (c.req.valid('json') ?? {}) as z.infer<typeof Capture>;
      // With a key, every attempt of this request is one Update: a retry gets the first outcome.
      await paymentUpdate(() => saga(payment.id).executeUpdate(captureUpdate, { updateId: updateIdOf(c, 'capture'), args: [{ amountMinor: amount }] }));
      return c.json(serializePayment(await requirePayment(payment.tenantId, payment.id)), 200);
    })
    .openapi(routes.cancel, async (c) => {
      const payment = await requirePayment(tenantOf(c), c.req.valid('param').id);
      const { reason } = (c.req.valid('json') ?? {}) as z.infer<typeof Cancel>;
      const requestKey = requestKeyOf(c, config).key;
      try {
        await paymentUpdate(() => saga(payment.id).executeUpdate(cancelUpdate, {
          updateId: updateIdOf(c, 'cancel'), args: [{ reason, ...(requestKey === null ? {} : { requestKey }) }],
        }));
      } catch (err) {
        // Refused, or the run has closed: but a retry's first attempt may have cancelled it in a
        // workflow task the server lost (its local step acted; the replay took another path, e.g.
        // the refund window closed). The event it wrote names this request: that cancel happened.
        const mine = requestKey !== null && err instanceof ApiError && err.code === 'payment_invalid_state'
          && await hasEventOfRequest(pool, payment.tenantId, payment.id, 'payment.reversed', requestKey);
        if (!mine) throw err;
      }
      return c.json(serializePayment(await requirePayment(payment.tenantId, payment.id)), 200);
    })
    .openapi(routes.refund, async (c) => {
      const payment = await requirePayment(tenantOf(c), c.req.valid('param').id);
      const { amount } = (c.req.valid('json') ?? {}) as z.infer<typeof CreateRefund>;
      const requestKey = requestKeyOf(c, config).key;
      const earlier = requestKey === null ? null : await earlierRefund(payment.tenantId, payment.id, requestKey, amount);
      // Finished: the first attempt's answer (its Update has completed, or its run has closed).
      if (earlier && earlier.status !== 'pending') return c.json(serializeRefund(earlier), 201);
      const refundId = newId('refund');
      // With a key: one Update per request (a retry waits for, or gets, the first one's outcome), and
      // the refund row carries the key, so a retry answers with the refund the first attempt created.
      await paymentUpdate(() => saga(payment.id).executeUpdate(refundUpdate, {
        updateId: updateIdOf(c, 'refund'), args: [{ refundId, amountMinor: amount, ...(requestKey === null ? {} : { requestKey }) }],
      }));
      const refund = (requestKey === null ? null : await findRefundByRequestKey(pool, payment.tenantId, requestKey))
        ?? await findRefund(pool, payment.tenantId, refundId);
      if (!refund) throw errors.internal();
      return c.json(serializeRefund(refund), 201);
    });
}
