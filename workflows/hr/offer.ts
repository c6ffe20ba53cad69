import { allHandlersFinished, ApplicationFailure, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RecruitmentActivities } from '../../activities/hr/recruitment-activities.js';
import { isFinalOfferStatus, type OfferDecision, type OfferStatus } from '../../domain/hr/recruitment.js';
import { ledgerActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import {
  acceptOfferUpdate, approveOfferUpdate, declineOfferUpdate, rejectOfferUpdate, type OfferActorArgs, type OfferInput, type OfferResult,
} from './recruitment-types.js';

const refuse = (type: 'not_approver' | 'offer_invalid_state', message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * An offer (contract §11): `awaiting_approval` until the hiring manager's manager approves or
 * rejects it (Updates, validated: the wrong actor is `not_approver`, the wrong status
 * `offer_invalid_state`, both before anything is recorded), then `awaiting_candidate` until the
 * candidate accepts or declines; undecided at `expires_at` (a durable timer over both waits), it is
 * `expired`. Acceptance hires in ONE activity keyed `${workflowId}:hire`: the employee, their
 * pro-rata leave and compensation, the candidate `hired`, the offer `accepted`. The state is the
 * offer's row, moved by the steps under its lock; every message goes through the outbox.
 */
export async function offer(input: OfferInput): Promise<OfferResult> {
  const steps = proxyActivities<RecruitmentActivities>(ledgerActivity);
  const key = (step: string) => `${workflowInfo().workflowId}:${step}`;
  const base = { tenantId: input.tenantId, offerId: input.offerId };
  let status: OfferStatus = 'awaiting_approval';
  let employeeId: string | null = null;
  let busy = false;
  const set = (next: OfferStatus) => {
    status = next;
    setBusinessStatus(next);
  };

  /** One decision at a time; the main path waits for `!busy` before it expires the offer. */
  async function decide(decision: OfferDecision, actorId: string | null): Promise<OfferResult> {
    busy = true;
    try {
      if (decision === 'accept') {
        employeeId = (await steps.hireCandidate({ ...base, idempotencyKey: key('hire') })).employeeId;
        set('accepted');
      } else {
        set(await steps.decideOfferStep({ ...base, decision, actorId, idempotencyKey: key(decision) }));
      }
      return { status, employeeId };
    } finally {
      busy = false;
    }
  }
  const expectStatus = (expected: OfferStatus) => {
    if (busy || status !== expected) throw refuse('offer_invalid_state', `The offer is ${status}.`);
    if (Date.now() >= Date.parse(input.expiresAt)) throw refuse('offer_invalid_state', `The offer expired at ${input.expiresAt}.`);
  };
  const approverOnly = (args: OfferActorArgs) => {
    if (input.approverId === null || args.actorId !== input.approverId) {
      throw refuse('not_approver', 'Only the hiring manager’s manager can approve or reject this offer.');
    }
    expectStatus('awaiting_approval');
  };
  setHandler(approveOfferUpdate, (args) => decide('approve', args.actorId), { validator: approverOnly });
  setHandler(rejectOfferUpdate, (args) => decide('reject', args.actorId), { validator: approverOnly });
  setHandler(acceptOfferUpdate, () => decide('accept', null), { validator: () => expectStatus('awaiting_candidate') });
  setHandler(declineOfferUpdate, () => decide('decline', null), { validator: () => expectStatus('awaiting_candidate') });

  set('awaiting_approval');
  if (input.approverId === null) await decide('approve', null);
  else await steps.requestOfferApproval({ ...base, idempotencyKey: key('request-approval') });
  const untilExpiryMs = Date.parse(input.expiresAt) - Date.now();
  const decided = untilExpiryMs > 0 && await condition(() => isFinalOfferStatus(status) && !busy, untilExpiryMs);
  if (!decided) {
    await condition(() => !busy); // a decision in flight wins over the expiry
    if (!isFinalOfferStatus(status)) await decide('expire', null);
  }
  await condition(allHandlersFinished);
  return { status, employeeId };
}
