import type pg from 'pg';
import { splitName, type OfferDecision, type OfferStatus } from '../../domain/hr/recruitment.js';
import { RecruitmentError } from '../../domain/hr/recruitment.js';
import { formatMinor } from '../../domain/money.js';
import { withTransaction } from '../../store/db.js';
import { findCandidate, moveCandidate } from '../../store/hr/candidates.js';
import { insertEmployee } from '../../store/hr/employees.js';
import { findInterview, markReminded } from '../../store/hr/interviews.js';
import { findJob } from '../../store/hr/jobs.js';
import { allocateOnHire } from '../../store/hr/leave.js';
import { decideOffer, lockOffer, type Offer } from '../../store/hr/offers.js';
import { appendOutboxEvent } from '../../store/outbox/outbox.js';
import { insertCompensation } from '../../store/payroll/compensations.js';
import { asActivityStep } from '../failure.js';

type Step = { tenantId: string; idempotencyKey: string };

/**
 * What the candidate, the approver and the hiring manager read of an offer (the templates'
 * data, domain/notifications/default-templates.ts), from the offer and its candidate and job.
 */
export async function offerEventPayload(db: pg.PoolClient, offer: Offer): Promise<Record<string, unknown>> {
  const candidate = await findCandidate(db, offer.tenantId, offer.candidateId);
  const job = candidate && await findJob(db, offer.tenantId, candidate.jobId);
  if (!candidate || !job) throw new Error(`offer ${offer.id}: its candidate or job is missing`);
  return {
    offer_id: offer.id, candidate_id: candidate.id, candidate_name: candidate.name, job_id: job.id, job_title: job.title,
    hiring_manager_id: job.hiringManagerId, approver_id: offer.approverId, annual_salary: offer.annualSalaryMinor,
    annual_salary_display: formatMinor(offer.annualSalaryMinor, offer.currency), currency: offer.currency,
    start_date: offer.startDate, expires_at: offer.expiresAt.toISOString(), status: offer.status,
  };
}

/**
 * The steps of the interview reminder and offer workflows (workflows/hr/interview-reminder.ts,
 * workflows/hr/offer.ts), each one transaction, idempotent by its key or the row's status. What a
 * person is told goes into the outbox in the same transaction: the relay hands it to the
 * notification system (its templates, preferences, channels and retries).
 */
export function createRecruitmentActivities({ pool }: { pool: pg.Pool }) {
  return {
    /** The interviewer's reminder (`interview.reminder`); false when the interview is gone or reminded already. */
    async remindInterviewer(step: Step & { interviewId: string }): Promise<boolean> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const interview = await findInterview(client, step.tenantId, step.interviewId);
        if (!interview || !(await markReminded(client, step.tenantId, step.interviewId))) return false;
        const candidate = await findCandidate(client, step.tenantId, interview.candidateId);
        const job = candidate && await findJob(client, step.tenantId, candidate.jobId);
        await appendOutboxEvent(client, {
          tenantId: step.tenantId, topic: 'interview.reminder', idempotencyKey: `${step.idempotencyKey}:event`,
          payload: {
            interview_id: interview.id, interviewer_id: interview.interviewerId, candidate_id: interview.candidateId,
            candidate_name: candidate?.name ?? '', job_title: job?.title ?? '', at: interview.at.toISOString(),
          },
        });
        return true;
      }));
    },

    /** The approver is asked (`offer.approval_requested`), once per key. */
    async requestOfferApproval(step: Step & { offerId: string }): Promise<void> {
      await asActivityStep(() => withTransaction(pool, async (client) => {
        const offer = await lockOffer(client, step.tenantId, step.offerId);
        if (offer.status !== 'awaiting_approval' || offer.approverId === null) return;
        await appendOutboxEvent(client, {
          tenantId: step.tenantId, topic: 'offer.approval_requested', idempotencyKey: `${step.idempotencyKey}:event`,
          payload: await offerEventPayload(client, offer),
        });
      }));
    },

    /**
     * Approve, reject, decline or expire the offer (accept is `hireCandidate`). The candidate hears
     * of an approval (`offer.extended`), the hiring manager of every other outcome (`offer.decided`).
     */
    async decideOfferStep(step: Step & { offerId: string; decision: Exclude<OfferDecision, 'accept'>; actorId: string | null }): Promise<OfferStatus> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const { offer, changed } = await decideOffer(client, { ...step });
        if (changed) {
          const topic = step.decision === 'approve' ? 'offer.extended' : 'offer.decided';
          const payload = { ...(await offerEventPayload(client, offer)), decision: offer.status };
          await appendOutboxEvent(client, { tenantId: step.tenantId, topic, idempotencyKey: `${step.idempotencyKey}:event`, payload });
        }
        return offer.status;
      }));
    },

    /**
     * The candidate accepted: in ONE transaction the employee is created (manager: the hiring
     * manager; hire date: the offer's start date; department: the job's), their leave is allocated
     * pro rata (contract §9 hiring), the offered salary is their compensation from the start date,
     * the candidate is `hired` and the offer `accepted`. Idempotent by the offer's row: once
     * accepted, a retry (same `idempotencyKey`, `${workflowId}:hire`) returns the employee it made.
     * The employee's e-mail must be free (`resource_exists`: the offer stays open).
     */
    async hireCandidate(step: Step & { offerId: string }): Promise<{ employeeId: string }> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const offer = await lockOffer(client, step.tenantId, step.offerId);
        if (offer.status === 'accepted' && offer.employeeId) return { employeeId: offer.employeeId };
        if (offer.status !== 'awaiting_candidate') throw new RecruitmentError('offer_invalid_state', `The offer is ${offer.status}.`);
        const candidate = await findCandidate(client, step.tenantId, offer.candidateId);
        const job = candidate && await findJob(client, step.tenantId, candidate.jobId);
        if (!candidate || !job) throw new Error(`offer ${offer.id}: its candidate or job is missing`);
        const employee = await insertEmployee(client, {
          tenantId: step.tenantId, employeeNumber: candidate.id, ...splitName(candidate.name), email: candidate.email,
          department: job.department, managerId: job.hiringManagerId, hireDate: offer.startDate,
        });
        await allocateOnHire(client, employee);
        await insertCompensation(client, {
          tenantId: step.tenantId, employeeId: employee.id, effectiveDate: offer.startDate, annualSalaryMinor: offer.annualSalaryMinor, currency: offer.currency,
        });
        await moveCandidate(client, {
          tenantId: step.tenantId, candidateId: candidate.id, to: 'hired', mover: 'offer_accepted', actorId: `offer:${offer.id}`, employeeId: employee.id,
        });
        const accepted = await decideOffer(client, {
          tenantId: step.tenantId, offerId: offer.id, decision: 'accept', actorId: null, employeeId: employee.id, hireKey: step.idempotencyKey,
        });
        await appendOutboxEvent(client, {
          tenantId: step.tenantId, topic: 'offer.decided', idempotencyKey: `${step.idempotencyKey}:event`,
          payload: { ...(await offerEventPayload(client, accepted.offer)), decision: 'accepted', employee_id: employee.id },
        });
        return { employeeId: employee.id };
      }));
    },
  };
}

export type RecruitmentActivities = ReturnType<typeof createRecruitmentActivities>;
