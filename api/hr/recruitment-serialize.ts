import { z } from '@hono/zod-openapi';
import { CANDIDATE_STAGES, OFFER_STATUSES } from '../../domain/hr/recruitment.js';
import type { Candidate } from '../../store/hr/candidates.js';
import type { Interview } from '../../store/hr/interviews.js';
import type { Job } from '../../store/hr/jobs.js';
import type { Offer } from '../../store/hr/offers.js';

/** The API's shapes of recruitment (contract §11). */

export const JobBody = z
  .object({ id: z.string(), object: z.literal('job'), title: z.string(), department: z.string(), hiring_manager_id: z.string(), created_at: z.string() })
  .openapi('Job');

export function serializeJob(j: Job): z.infer<typeof JobBody> {
  return { id: j.id, object: 'job', title: j.title, department: j.department, hiring_manager_id: j.hiringManagerId, created_at: j.createdAt.toISOString() };
}

const StageChangeBody = z.object({
  at: z.string(), from: z.enum(CANDIDATE_STAGES).nullable(), to: z.enum(CANDIDATE_STAGES),
  actor_id: z.string().openapi({ description: 'Who moved the candidate (`offer:<off_id>` for a hire).' }),
});

export const InterviewBody = z
  .object({
    id: z.string(), object: z.literal('interview'), candidate_id: z.string(), interviewer_id: z.string(), at: z.string(),
    rating: z.number().int().nullable(), notes: z.string().nullable(), feedback_at: z.string().nullable(),
    reminded_at: z.string().nullable(), created_at: z.string(),
  })
  .openapi('Interview');

export function serializeInterview(i: Interview): z.infer<typeof InterviewBody> {
  return {
    id: i.id, object: 'interview', candidate_id: i.candidateId, interviewer_id: i.interviewerId, at: i.at.toISOString(),
    rating: i.rating, notes: i.notes, feedback_at: i.feedbackAt?.toISOString() ?? null, reminded_at: i.remindedAt?.toISOString() ?? null,
    created_at: i.createdAt.toISOString(),
  };
}

export const CandidateBody = z
  .object({
    id: z.string(), object: z.literal('candidate'), job_id: z.string(), name: z.string(), email: z.string(), stage: z.enum(CANDIDATE_STAGES),
    employee_id: z.string().nullable().openapi({ description: 'The employee an accepted offer made of the candidate.' }),
    history: z.array(StageChangeBody), interviews: z.array(InterviewBody).optional(), created_at: z.string(), updated_at: z.string(),
  })
  .openapi('Candidate');

export function serializeCandidate(c: Candidate, interviews?: Interview[]): z.infer<typeof CandidateBody> {
  return {
    id: c.id, object: 'candidate', job_id: c.jobId, name: c.name, email: c.email, stage: c.stage, employee_id: c.employeeId,
    history: c.history, ...(interviews ? { interviews: interviews.map(serializeInterview) } : {}),
    created_at: c.createdAt.toISOString(), updated_at: c.updatedAt.toISOString(),
  };
}

export const OfferBody = z
  .object({
    id: z.string(), object: z.literal('offer'), candidate_id: z.string(), status: z.enum(OFFER_STATUSES),
    annual_salary: z.number().int(), currency: z.string(), start_date: z.string(), expires_at: z.string(),
    approver_id: z.string().nullable().openapi({ description: 'The hiring manager’s manager; null: approved at once (nobody above).' }),
    created_by: z.string(), employee_id: z.string().nullable(),
    history: z.array(z.object({ at: z.string(), action: z.string(), actor_id: z.string().nullable() })),
    created_at: z.string(), updated_at: z.string(),
  })
  .openapi('Offer');

export function serializeOffer(o: Offer): z.infer<typeof OfferBody> {
  return {
    id: o.id, object: 'offer', candidate_id: o.candidateId, status: o.status, annual_salary: o.annualSalaryMinor, currency: o.currency,
    start_date: o.startDate, expires_at: o.expiresAt.toISOString(), approver_id: o.approverId, created_by: o.createdBy,
    employee_id: o.employeeId, history: o.history, created_at: o.createdAt.toISOString(), updated_at: o.updatedAt.toISOString(),
  };
}
