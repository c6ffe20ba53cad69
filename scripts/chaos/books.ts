import type { Payment, Refund } from '../../domain/payments/types.js';
import { processorsControl, type ChargeRecord } from '../../simulators/processors/client.js';
import { SIM_PROCESSORS } from '../../simulators/processors/tokens.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';

/**
 * The processors' own books against ours: every payment's operations at the simulated processors
 * (`GET /processors/:processor/charges`), found by the idempotency keys the saga sends
 * (`payment-<id>:authorize`, `:capture`, `:void`, `:reverse`, `:refund:<refund id>`).
 */

export interface BooksVerdict {
  ok: boolean;
  detail: string;
  problems: string[];
}

interface Held {
  processor: string;
  auth: ChargeRecord;
}

/** Every processor's authorizations for our payments, by payment id. */
async function authorizationsByPayment(processorsUrl: string): Promise<Map<string, Held[]>> {
  const sim = processorsControl(processorsUrl);
  const reports = await Promise.all(SIM_PROCESSORS.map((p) => sim.charges(p)));
  const byPayment = new Map<string, Held[]>();
  const prefix = workflowIdOf(workflowContracts.paymentSaga, '');
  for (const report of reports) {
    for (const auth of report.authorizations) {
      const match = auth.idempotency_key.startsWith(prefix) ? /^(.+):authorize$/.exec(auth.idempotency_key.slice(prefix.length)) : null;
      if (!match?.[1]) continue;
      const list = byPayment.get(match[1]) ?? [];
      list.push({ processor: report.processor, auth });
      byPayment.set(match[1], list);
    }
  }
  return byPayment;
}

const succeeded = (held: Held[], kind: string) =>
  held.flatMap((h) => h.auth.operations.filter((op) => op.kind === kind && op.status === 'succeeded'));

/**
 * One payment's problems, if any: at most one approved authorization; exactly one charge when
 * something was captured (of that amount) and none otherwise; one refund back per reversal of a
 * capture, one void per reversal of an authorization; refunds at the processor summing to ours,
 * each a refund we know; nothing left open on a payment that ended without a capture.
 */
async function paymentProblems(payment: Payment, held: Held[], refundOf: (id: string) => Promise<Refund | null>): Promise<string[]> {
  const problems: string[] = [];
  const wf = workflowIdOf(workflowContracts.paymentSaga, payment.id);
  const approved = held.filter((h) => h.auth.status === 'authorized');
  const capturedMinor = payment.amountCapturedMinor;
  const reversedCapture = payment.status === 'reversed' && capturedMinor > 0;
  if (approved.length > 1) problems.push(`${approved.length} approved authorizations`);
  if (payment.processorReference && !held.some((h) => h.auth.id === payment.processorReference)) {
    problems.push(`its authorization ${payment.processorReference} is not in ${payment.processor}'s books`);
  }
  if (payment.status !== 'initiated' && payment.status !== 'failed' && approved.length === 0) problems.push(`${payment.status} without an approved authorization`);

  const charges = succeeded(held, 'capture');
  const chargedMinor = held.reduce((sum, h) => sum + h.auth.amount_captured, 0);
  if (capturedMinor > 0 && (charges.length !== 1 || chargedMinor !== capturedMinor)) {
    problems.push(`captured ${capturedMinor}: ${charges.length} charges for ${chargedMinor} at the processor`);
  }
  if (capturedMinor === 0 && (charges.length > 0 || chargedMinor > 0)) problems.push(`nothing captured here, ${charges.length} charges for ${chargedMinor} there`);

  const refundedMinor = held.reduce((sum, h) => sum + h.auth.amount_refunded, 0);
  const expectedRefundMinor = payment.amountRefundedMinor + (reversedCapture ? capturedMinor : 0);
  if (refundedMinor !== expectedRefundMinor) problems.push(`refunded ${refundedMinor} at the processor, ${expectedRefundMinor} here`);
  const refunds = succeeded(held, 'refund');
  const reversals = refunds.filter((op) => op.idempotency_key === `${wf}:reverse`);
  if (reversals.length !== (reversedCapture ? 1 : 0)) problems.push(`${reversals.length} reversal refunds (status ${payment.status}, captured ${capturedMinor})`);
  for (const op of refunds.filter((r) => r !== reversals[0])) {
    const refundId = op.idempotency_key.startsWith(`${wf}:refund:`) ? op.idempotency_key.slice(`${wf}:refund:`.length) : null;
    const refund = refundId ? await refundOf(refundId) : null;
    if (refund?.status !== 'succeeded') problems.push(`refund ${op.idempotency_key} at the processor: ours is ${refund?.status ?? 'unknown'}`);
  }

  const voids = succeeded(held, 'void');
  const voidExpected = payment.status === 'reversed' && capturedMinor === 0 && approved.length > 0;
  if (voidExpected && voids.length !== 1) problems.push(`reversed before capture with ${voids.length} voids`);
  if (!voidExpected && payment.status !== 'failed' && voids.length > 0) problems.push(`${payment.status} with ${voids.length} voids`);
  const ended = payment.status === 'failed' || payment.status === 'reversed';
  const open = approved.filter((h) => !h.auth.voided && h.auth.amount_captured === 0);
  if (ended && open.length > 0) problems.push(`${payment.status}, ${open.length} authorizations left open`);

  const strangers = held.flatMap((h) => h.auth.operations).filter((op) => !op.idempotency_key.startsWith(`${wf}:`));
  if (strangers.length > 0) problems.push(`operations with foreign keys: ${strangers.map((op) => op.idempotency_key).join(', ')}`);
  return problems;
}

/**
 * Checks the payments the workload created (with their rows as PostgreSQL has them) against the
 * processors' books. Only card and bank payments have books there (wallet payments are ours).
 */
export async function checkProcessorBooks(
  processorsUrl: string,
  payments: readonly Payment[],
  refundOf: (id: string) => Promise<Refund | null>,
): Promise<BooksVerdict> {
  const byPayment = await authorizationsByPayment(processorsUrl);
  const problems: string[] = [];
  let charged = 0;
  let voided = 0;
  let reversedBack = 0;
  for (const payment of payments) {
    if (payment.paymentMethod.walletAccountId) continue;
    const held = byPayment.get(payment.id) ?? [];
    for (const problem of await paymentProblems(payment, held, refundOf)) problems.push(`${payment.id}: ${problem}`);
    charged += succeeded(held, 'capture').length;
    voided += succeeded(held, 'void').length;
    reversedBack += succeeded(held, 'refund').length;
  }
  const summary = `${payments.length} payments: ${charged} charges, ${voided} voids, ${reversedBack} refunds at the processors`;
  return { ok: problems.length === 0, problems, detail: problems.length === 0 ? summary : `${summary}; ${problems.length} problems: ${problems.slice(0, 5).join('; ')}` };
}
