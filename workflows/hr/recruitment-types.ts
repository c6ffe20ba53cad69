import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OfferStatus } from '../../domain/hr/recruitment.js';

/** Inputs and Updates of the recruitment workflows (contract §11): shared by the API and the workflows. */

/** Input of the interview reminder (`interview-<int_id>`). */
export interface InterviewReminderInput {
  tenantId: string;
  interviewId: string;
  /** The slot (ISO 8601 UTC). */
  at: string;
  /** INTERVIEW_REMINDER_BEFORE (the workflow reads no env): the reminder goes this long before the slot, at once when that is past. */
  remindBeforeMs: number;
  /** INTERVIEW_FEEDBACK_WINDOW: how long after the slot the run waits for the feedback. */
  feedbackWindowMs: number;
}

export interface InterviewReminderResult {
  /** False when the feedback came first, or the interview was gone or reminded already. */
  reminded: boolean;
  /** Whether the interviewer's feedback came within the window. */
  feedbackGiven: boolean;
}

/**
 * The interviewer gave their feedback (`POST /v1/interviews/:id/feedback`, written in PostgreSQL
 * first): the run stops waiting. A signal, not an Update: the row is the record, the run only ends its wait.
 */
export const feedbackGivenSignal = defineSignal('feedbackGiven');

/** Input of the offer workflow (`offer-<off_id>`). */
export interface OfferInput {
  tenantId: string;
  offerId: string;
  /** The hiring manager's manager when the offer was made; null: approved at once (nobody above). */
  approverId: string | null;
  /** ISO 8601: undecided by then (by the approver or the candidate), the offer is `expired`. */
  expiresAt: string;
}

export interface OfferResult {
  status: OfferStatus;
  /** The employee an accepted offer created. */
  employeeId: string | null;
}

export interface OfferActorArgs {
  /** The acting user's `sub` (contract §0): must be the offer's approver. */
  actorId: string;
}

/** The approver approves: the candidate is sent the offer (`offer.extended`). */
export const approveOfferUpdate = defineUpdate<OfferResult, [OfferActorArgs]>('approve');
/** The approver rejects: the offer ends `rejected`. */
export const rejectOfferUpdate = defineUpdate<OfferResult, [OfferActorArgs]>('reject');
/** The candidate accepts (tenant key): the employee is created in the same step. */
export const acceptOfferUpdate = defineUpdate<OfferResult, []>('accept');
/** The candidate declines (tenant key). */
export const declineOfferUpdate = defineUpdate<OfferResult, []>('decline');
