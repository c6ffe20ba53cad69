import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { PaymentError } from '../../domain/payments/errors.js';
import type { Payment } from '../../domain/payments/types.js';
import { withTransaction } from '../../store/db.js';
import { ensureSystemAccount } from '../../store/ledger/accounts.js';
import { postTransaction } from '../../store/ledger/transactions.js';
import { findPayment } from '../../store/payments/payments.js';
import { completeRefund, failRefund, reserveRefund } from '../../store/payments/refunds.js';
import { claimSettlementBatch } from '../../store/payments/settlement-batches.js';
import { applyTransition } from '../../store/payments/transitions.js';
import { asActivityStep, toActivityFailure } from '../failure.js';
import { pauseAfterCommit, type AfterCommitFault } from '../fault-injection.js';
import { ProcessorDeclined, type PaymentMethodType, type ProcessorRouter } from './processors/index.js';

export interface PaymentActivityDeps {
  pool: pg.Pool;
  router: ProcessorRouter;
  /** Fault injection for crash drills: a pause after a capture's or refund's commit (absent in production). */
  faultAfterCommit?: AfterCommitFault;
}

type Step = { tenantId: string; paymentId: string; idempotencyKey: string };

/** The step's payment; a missing one is final (`payment_missing`). */
function load(pool: pg.Pool, step: Step): Promise<Payment> {
  return asActivityStep(async () => {
    const payment = await findPayment(pool, step.tenantId, step.paymentId);
    if (!payment) throw new PaymentError('payment_missing', step.paymentId);
    return payment;
  });
}

/**
 * The ledger side of a capture or of money going back: between the tenant's clearing (system)
 * account, where every processor — the wallet included — settles, and the merchant.
 */
async function creditMerchant(client: pg.PoolClient, payment: Payment, amountMinor: number, key: string, kind: string) {
  const clearing = await ensureSystemAccount(client, payment.tenantId, payment.currency);
  await postTransaction(client, {
    tenantId: payment.tenantId, idempotencyKey: key, kind, referenceId: payment.id, currency: payment.currency,
    postings: [
      { accountId: clearing, direction: 'debit', amountMinor },
      { accountId: payment.merchantAccountId, direction: 'credit', amountMinor },
    ],
  });
}

async function debitMerchant(client: pg.PoolClient, payment: Payment, amountMinor: number, key: string, kind: string) {
  const to = await ensureSystemAccount(client, payment.tenantId, payment.currency);
  await postTransaction(client, {
    tenantId: payment.tenantId, idempotencyKey: key, kind, referenceId: payment.id, currency: payment.currency,
    postings: [
      { accountId: payment.merchantAccountId, direction: 'debit', amountMinor },
      { accountId: to, direction: 'credit', amountMinor },
    ],
    overdraftAllowed: [payment.merchantAccountId],
  });
}

/**
 * The steps of the payment saga. Each is idempotent by its key (`<workflowId>:authorize`, …),
 * passed down to the processor, the ledger and the event log, so a retried step never charges,
 * credits or records twice. Declines are returned as outcomes, not thrown. Every payment method
 * goes through the processor router — cards and banks over HTTP, the wallet to the ledger's holds.
 */
export function createPaymentActivities({ pool, router, faultAfterCommit }: PaymentActivityDeps) {
  return {
    async authorizePayment(step: Step) {
      const payment = await load(pool, step);
      if (payment.status !== 'initiated') return payment.status === 'failed'
        ? { outcome: 'declined' as const, failureCode: payment.failureCode ?? 'declined' }
        : { outcome: 'authorized' as const };
      const { method, token } = processorMethod(payment);
      try {
        const auth = await router.authorize({
          idempotencyKey: step.idempotencyKey, method, token, amountMinor: payment.amountMinor, currency: payment.currency,
        }, {
          // A retry first asks the route's processors for the earlier attempt's charge, by key.
          previouslySentTo: Context.current().info.attempt > 1 ? router.routeFor(method, payment.currency) : [],
        });
        const route = router.routeFor(method, payment.currency);
        if (auth.processor !== route[0]) {
          // Through the activity context logger: the line carries the run's ids and the activity type.
          Context.current().log.warn('authorized by a fallback processor', { tenantId: step.tenantId, paymentId: step.paymentId, processor: auth.processor, route });
        }
        await asActivityStep(() => withTransaction(pool, (client) => applyTransition(client, {
          ...step, event: 'authorize',
          patch: {
            processor: auth.processor, processorReference: auth.id,
            ...(method === 'wallet' ? { holdId: auth.id } : { paymentMethodBrand: auth.brand, paymentMethodLast4: auth.last4 }),
          },
        })));
        return { outcome: 'authorized' as const };
      } catch (err) {
        const declined = declineOf(err);
        if (!declined) throw toActivityFailure(err);
        await asActivityStep(() => withTransaction(pool, (client) => applyTransition(client, {
          ...step, event: 'decline',
          patch: { failureCode: declined.failureCode, ...(declined.declineCode ? { declineCode: declined.declineCode } : {}) },
        })));
        return { outcome: 'declined' as const, failureCode: declined.failureCode };
      }
    },

    async capturePayment(step: Step & { amountMinor: number }) {
      const payment = await load(pool, step);
      if (payment.status === 'captured' || payment.status === 'settled') return { outcome: 'captured' as const };
      try {
        await router.capture(payment.processor!, { idempotencyKey: step.idempotencyKey, authorizationId: payment.processorReference!, amountMinor: step.amountMinor });
      } catch (err) {
        const declined = declineOf(err);
        if (!declined) throw err;
        return { outcome: 'failed' as const, failureCode: declined.failureCode };
      }
      await asActivityStep(() => withTransaction(pool, async (client) => {
        await creditMerchant(client, payment, step.amountMinor, `${step.idempotencyKey}:ledger`, 'payment_capture');
        await applyTransition(client, { ...step, event: 'capture', captureAmountMinor: step.amountMinor });
      }));
      await pauseAfterCommit(faultAfterCommit, 'capturePayment');
      return { outcome: 'captured' as const };
    },

    /** Compensation: voids the authorization (or the wallet hold) and records why. */
    async releaseAuthorization(step: Step & { event: 'void' | 'expire' | 'capture_fail'; failureCode: string | null; requestKey?: string }) {
      const payment = await load(pool, step);
      if (payment.status !== 'authorized') return;
      await router.void(payment.processor!, { idempotencyKey: step.idempotencyKey, authorizationId: payment.processorReference! });
      await asActivityStep(() => withTransaction(pool, async (client) => {
        await applyTransition(client, {
          tenantId: step.tenantId, paymentId: step.paymentId, idempotencyKey: step.idempotencyKey, event: step.event,
          patch: step.failureCode ? { failureCode: step.failureCode } : {}, ...requestData(step.requestKey),
        });
      }));
    },

    /** Cancel of a captured, unsettled payment: the processor refunds it, the merchant gives it back. */
    /**
     * Ops cancelled the run while it was authorizing: find what the processors did with the key
     * (a processor that cannot be asked keeps this retrying: a charge may exist there), void it,
     * and fail the payment as `canceled`.
     */
    async abandonAuthorization(step: Step) {
      const payment = await load(pool, step);
      if (payment.status !== 'initiated') return;
      const found = await router.findAuthorization(processorMethod(payment).method, payment.currency, step.idempotencyKey);
      if (found) await router.void(found.processor, { idempotencyKey: `${step.idempotencyKey}:abandon`, authorizationId: found.id });
      await asActivityStep(() => withTransaction(pool, (client) => applyTransition(client, {
        ...step, idempotencyKey: `${step.idempotencyKey}:abandon`, event: 'decline', patch: { failureCode: 'canceled' },
      })));
    },

    async reversePayment(step: Step & { requestKey?: string }) {
      const payment = await load(pool, step);
      if (payment.status === 'reversed') return;
      // Settled (or refunded) meanwhile: the money has moved on, so nothing may go to the processor.
      if (payment.status !== 'captured') {
        throw toActivityFailure(new PaymentError('payment_invalid_state', `A ${payment.status} payment cannot be reversed.`));
      }
      await router.refund(payment.processor!, { idempotencyKey: step.idempotencyKey, authorizationId: payment.processorReference!, amountMinor: payment.amountCapturedMinor });
      await asActivityStep(() => withTransaction(pool, async (client) => {
        await debitMerchant(client, payment, payment.amountCapturedMinor, `${step.idempotencyKey}:ledger`, 'payment_reversal');
        await applyTransition(client, {
          tenantId: step.tenantId, paymentId: step.paymentId, idempotencyKey: step.idempotencyKey, event: 'reverse', ...requestData(step.requestKey),
        });
      }));
    },

    /**
     * `requestKey` (the client's Idempotency-Key, since issue #15; absent from older runs' steps):
     * a step whose key names an existing refund of the payment finishes that refund, under the
     * key it was reserved with, instead of reserving a second one.
     */
    async refundPayment(step: Step & { refundId: string; amountMinor: number; requestKey?: string | undefined }) {
      const { refund, stepKey } = await asActivityStep(() => withTransaction(pool, (client) => reserveRefund(client, {
        tenantId: step.tenantId, paymentId: step.paymentId, refundId: step.refundId, amountMinor: step.amountMinor,
        idempotencyKey: step.idempotencyKey, requestKey: step.requestKey ?? null,
      })));
      if (refund.status !== 'pending') return { status: refund.status, paymentStatus: (await load(pool, step)).status };
      const payment = await load(pool, step);
      try {
        await router.refund(payment.processor!, { idempotencyKey: stepKey, authorizationId: payment.processorReference!, amountMinor: refund.amountMinor });
      } catch (err) {
        const declined = declineOf(err);
        if (!declined) throw err;
        await asActivityStep(() => withTransaction(pool, (client) => failRefund(client, { tenantId: step.tenantId, refundId: refund.id, failureCode: declined.failureCode })));
        return { status: 'failed' as const, paymentStatus: payment.status };
      }
      const done = await asActivityStep(() => withTransaction(pool, async (client) => {
        await debitMerchant(client, payment, refund.amountMinor, `${stepKey}:ledger`, 'payment_refund');
        return completeRefund(client, { tenantId: step.tenantId, refundId: refund.id });
      }));
      await pauseAfterCommit(faultAfterCommit, 'refundPayment');
      return { status: 'succeeded' as const, paymentStatus: done.payment.status };
    },
  };
}

/** The event data naming the client request that caused a move (Stripe's `request.idempotency_key`). */
function requestData(requestKey: string | undefined): { eventData?: Record<string, unknown> } {
  return requestKey === undefined ? {} : { eventData: { request: { idempotency_key: requestKey } } };
}

function declineOf(err: unknown): { failureCode: string; declineCode?: string | undefined } | null {
  return err instanceof ProcessorDeclined ? { failureCode: err.failureCode, declineCode: err.declineCode } : null;
}

/** What the router is asked for: a wallet pays with its account id as the token. */
function processorMethod(payment: Payment): { method: PaymentMethodType; token: string } {
  const m = payment.paymentMethod;
  return m.walletAccountId ? { method: 'wallet', token: m.walletAccountId } : { method: m.type as PaymentMethodType, token: m.token! };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;

/** The settlement run's one step: settle up to `limit` due payments into the window's batch. */
export function createSettlementActivities({ pool }: { pool: pg.Pool }) {
  return {
    async settleWindow(input: { windowStartMs: number; windowEndMs: number; limit: number }) {
      const run = await asActivityStep(() => withTransaction(pool, (client) => claimSettlementBatch(client, {
        windowStart: new Date(input.windowStartMs), windowEnd: new Date(input.windowEndMs), limit: input.limit,
      })));
      return { batchId: run.batchId, settledCount: run.settledPaymentIds.length, totals: run.totals };
    },
  };
}

export type SettlementActivities = ReturnType<typeof createSettlementActivities>;
