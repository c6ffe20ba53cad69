import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { PaymentError } from '../../domain/payments/errors.js';
import type { Payment } from '../../domain/payments/types.js';
import { withTransaction } from '../../platform/db.js';
import { ensureSystemAccount } from '../ledger/accounts.js';
import { LedgerError, placeHold, postHold, postTransaction, voidHold } from '../ledger/ledger.js';
import { ProcessorDeclined, type ProcessorRouter } from './processors/index.js';
import { completeRefund, failRefund, reserveRefund } from './refunds.js';
import { applyTransition, findPayment } from './repository.js';
import { claimSettlementBatch } from './settlement.js';

export interface PaymentActivityDeps {
  pool: pg.Pool;
  router: ProcessorRouter;
}

type Step = { tenantId: string; paymentId: string; idempotencyKey: string };

/** Domain refusals are final (non-retryable, typed by their code); anything else is retried. */
function asFinal(err: unknown): unknown {
  if (err instanceof PaymentError || err instanceof LedgerError) {
    return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
  }
  return err;
}

async function final<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asFinal(err);
  }
}

async function load(pool: pg.Pool, step: Step): Promise<Payment> {
  const payment = await findPayment(pool, step.tenantId, step.paymentId);
  if (!payment) throw ApplicationFailure.create({ type: 'payment_missing', message: step.paymentId, nonRetryable: true });
  return payment;
}

/** The ledger side of money leaving the merchant: back to the wallet, or to the clearing account. */
async function debitMerchant(client: pg.PoolClient, payment: Payment, amountMinor: number, key: string, kind: string) {
  const to = payment.paymentMethod.walletAccountId ?? (await ensureSystemAccount(client, payment.tenantId, payment.currency));
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
 * credits or records twice. Declines are returned as outcomes, not thrown.
 */
export function createPaymentActivities({ pool, router }: PaymentActivityDeps) {
  return {
    async authorizePayment(step: Step) {
      const payment = await load(pool, step);
      if (payment.status !== 'initiated') return payment.status === 'failed'
        ? { outcome: 'declined' as const, failureCode: payment.failureCode ?? 'declined' }
        : { outcome: 'authorized' as const };
      const method = payment.paymentMethod;
      try {
        if (method.walletAccountId) {
          await withTransaction(pool, async (client) => {
            const hold = await placeHold(client, {
              tenantId: step.tenantId, idempotencyKey: step.idempotencyKey, accountId: method.walletAccountId!,
              amountMinor: payment.amountMinor, currency: payment.currency, enforceLimits: true,
            });
            await applyTransition(client, { ...step, event: 'authorize', patch: { holdId: hold.id } });
          });
          return { outcome: 'authorized' as const };
        }
        const auth = await router.authorize({
          idempotencyKey: step.idempotencyKey, method: method.type as 'card' | 'bank_transfer', token: method.token!,
          amountMinor: payment.amountMinor, currency: payment.currency,
        }, {
          // A retry first asks the route's processors for the earlier attempt's charge, by key.
          previouslySentTo: Context.current().info.attempt > 1 ? router.routeFor(method.type as 'card' | 'bank_transfer', payment.currency) : [],
        });
        await final(() => withTransaction(pool, (client) => applyTransition(client, {
          ...step, event: 'authorize',
          patch: { processor: auth.processor, processorReference: auth.id, paymentMethodBrand: auth.brand, paymentMethodLast4: auth.last4 },
        })));
        return { outcome: 'authorized' as const };
      } catch (err) {
        const declined = declineOf(err);
        if (!declined) throw asFinal(err);
        await final(() => withTransaction(pool, (client) => applyTransition(client, {
          ...step, event: 'decline', patch: { failureCode: declined.failureCode, ...(declined.declineCode ? { declineCode: declined.declineCode } : {}) },
        })));
        return { outcome: 'declined' as const, failureCode: declined.failureCode };
      }
    },

    async capturePayment(step: Step & { amountMinor: number }) {
      const payment = await load(pool, step);
      if (payment.status === 'captured' || payment.status === 'settled') return { outcome: 'captured' as const };
      try {
        if (!payment.holdId) {
          await router.capture(payment.processor!, { idempotencyKey: step.idempotencyKey, authorizationId: payment.processorReference!, amountMinor: step.amountMinor });
        }
      } catch (err) {
        const declined = declineOf(err);
        if (!declined) throw err;
        return { outcome: 'failed' as const, failureCode: declined.failureCode };
      }
      await final(() => withTransaction(pool, async (client) => {
        if (payment.holdId) {
          await postHold(client, {
            tenantId: step.tenantId, idempotencyKey: `${step.idempotencyKey}:ledger`, holdId: payment.holdId,
            creditAccountId: payment.merchantAccountId, amountMinor: step.amountMinor, kind: 'payment_capture', referenceId: payment.id,
          });
        } else {
          const clearing = await ensureSystemAccount(client, payment.tenantId, payment.currency);
          await postTransaction(client, {
            tenantId: step.tenantId, idempotencyKey: `${step.idempotencyKey}:ledger`, kind: 'payment_capture', referenceId: payment.id,
            currency: payment.currency,
            postings: [
              { accountId: clearing, direction: 'debit', amountMinor: step.amountMinor },
              { accountId: payment.merchantAccountId, direction: 'credit', amountMinor: step.amountMinor },
            ],
          });
        }
        await applyTransition(client, { ...step, event: 'capture', captureAmountMinor: step.amountMinor });
      }));
      return { outcome: 'captured' as const };
    },

    /** Compensation: voids the authorization (or the wallet hold) and records why. */
    async releaseAuthorization(step: Step & { event: 'void' | 'expire' | 'capture_fail'; failureCode: string | null }) {
      const payment = await load(pool, step);
      if (payment.status !== 'authorized') return;
      if (!payment.holdId) {
        await router.void(payment.processor!, { idempotencyKey: step.idempotencyKey, authorizationId: payment.processorReference! });
      }
      await final(() => withTransaction(pool, async (client) => {
        if (payment.holdId) await voidHold(client, step.tenantId, payment.holdId);
        await applyTransition(client, { ...step, event: step.event, patch: step.failureCode ? { failureCode: step.failureCode } : {} });
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
      const method = payment.paymentMethod;
      if (!method.walletAccountId) {
        const found = await router.findAuthorization(method.type as 'card' | 'bank_transfer', payment.currency, step.idempotencyKey);
        if (found) await router.void(found.processor, { idempotencyKey: `${step.idempotencyKey}:abandon`, authorizationId: found.id });
      } else {
        const { rows } = await pool.query('SELECT id FROM holds WHERE tenant_id = $1 AND idempotency_key = $2', [step.tenantId, step.idempotencyKey]);
        if (rows[0]) await final(() => withTransaction(pool, (client) => voidHold(client, step.tenantId, rows[0].id as string)));
      }
      await final(() => withTransaction(pool, (client) => applyTransition(client, {
        ...step, idempotencyKey: `${step.idempotencyKey}:abandon`, event: 'decline', patch: { failureCode: 'canceled' },
      })));
    },

    async reversePayment(step: Step) {
      const payment = await load(pool, step);
      if (payment.status === 'reversed') return;
      // Settled (or refunded) meanwhile: the money has moved on, so nothing may go to the processor.
      if (payment.status !== 'captured') {
        throw asFinal(new PaymentError('payment_invalid_state', `A ${payment.status} payment cannot be reversed.`));
      }
      if (!payment.holdId) {
        await router.refund(payment.processor!, { idempotencyKey: step.idempotencyKey, authorizationId: payment.processorReference!, amountMinor: payment.amountCapturedMinor });
      }
      await final(() => withTransaction(pool, async (client) => {
        await debitMerchant(client, payment, payment.amountCapturedMinor, `${step.idempotencyKey}:ledger`, 'payment_reversal');
        await applyTransition(client, { ...step, event: 'reverse' });
      }));
    },

    async refundPayment(step: Step & { refundId: string; amountMinor: number }) {
      const { refund } = await final(() => withTransaction(pool, (client) => reserveRefund(client, {
        tenantId: step.tenantId, paymentId: step.paymentId, refundId: step.refundId, amountMinor: step.amountMinor,
        idempotencyKey: step.idempotencyKey,
      })));
      if (refund.status !== 'pending') return { status: refund.status, paymentStatus: (await load(pool, step)).status };
      const payment = await load(pool, step);
      try {
        if (!payment.holdId) {
          await router.refund(payment.processor!, { idempotencyKey: step.idempotencyKey, authorizationId: payment.processorReference!, amountMinor: refund.amountMinor });
        }
      } catch (err) {
        const declined = declineOf(err);
        if (!declined) throw err;
        await final(() => withTransaction(pool, (client) => failRefund(client, { tenantId: step.tenantId, refundId: refund.id, failureCode: declined.failureCode })));
        return { status: 'failed' as const, paymentStatus: payment.status };
      }
      const done = await final(() => withTransaction(pool, async (client) => {
        await debitMerchant(client, payment, refund.amountMinor, `${step.idempotencyKey}:ledger`, 'payment_refund');
        return completeRefund(client, { tenantId: step.tenantId, refundId: refund.id });
      }));
      return { status: 'succeeded' as const, paymentStatus: done.payment.status };
    },
  };
}

function declineOf(err: unknown): { failureCode: string; declineCode?: string | undefined } | null {
  if (err instanceof ProcessorDeclined) return { failureCode: err.failureCode, declineCode: err.declineCode };
  if (err instanceof LedgerError && (err.code === 'insufficient_funds' || err.code === 'limit_exceeded')) {
    return { failureCode: err.code };
  }
  return null;
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;

/** The settlement run's one step: settle up to `limit` due payments into the window's batch. */
export function createSettlementActivities({ pool }: { pool: pg.Pool }) {
  return {
    async settleWindow(input: { windowStartMs: number; windowEndMs: number; limit: number }) {
      const run = await withTransaction(pool, (client) => claimSettlementBatch(client, {
        windowStart: new Date(input.windowStartMs), windowEnd: new Date(input.windowEndMs), limit: input.limit,
      }));
      return { batchId: run.batchId, settledCount: run.settledPaymentIds.length, totals: run.totals };
    },
  };
}

export type SettlementActivities = ReturnType<typeof createSettlementActivities>;
