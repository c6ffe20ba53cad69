import { createRoute, z } from '@hono/zod-openapi';
import { ADVANCE_TARGETS, CANDIDATE_STAGES, RecruitmentError } from '../../domain/hr/recruitment.js';
import { withTransaction } from '../../store/db.js';
import { findCandidate, insertCandidate, listCandidates, lockCandidate, moveCandidate } from '../../store/hr/candidates.js';
import { deleteUnstartedInterview, findInterview, insertInterview, listInterviews, recordFeedback } from '../../store/hr/interviews.js';
import { findJob, insertJob } from '../../store/hr/jobs.js';
import { hasWaitingOffer } from '../../store/hr/offers.js';
import { putContacts } from '../../store/notifications/contacts.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import { feedbackGivenSignal } from '../../workflows/hr/recruitment-types.js';
import { requestLog } from '../middleware/access-log.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { actorHeader, actorOf, requireActor } from '../middleware/actor.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, FreeText, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { startWorkflow } from '../workflow-start.js';
import { CandidateBody, InterviewBody, JobBody, serializeCandidate, serializeInterview, serializeJob } from './recruitment-serialize.js';
import { PersonText } from './schemas.js';

const EmployeeId = z.string().min(1).max(100);
const CreateJob = z.strictObject({ title: PersonText(200), department: PersonText(200), hiring_manager_id: EmployeeId }).openapi('CreateJob');
const CreateCandidate = z
  .strictObject({ job_id: z.string().min(1).max(100), name: PersonText(200), email: z.string().email().max(320) })
  .openapi('CreateCandidate');
const Advance = z
  .strictObject({
    to: z.enum(ADVANCE_TARGETS).openapi({ description: 'The next stage, or rejected / withdrawn. `hired` comes from an accepted offer.' }),
  })
  .openapi('AdvanceCandidate');
const ScheduleInterview = z
  .strictObject({ interviewer_id: EmployeeId, at: z.string().datetime({ offset: true }).openapi({ description: 'The slot, ISO 8601; in the future.' }) })
  .openapi('ScheduleInterview');
const Feedback = z
  .strictObject({ rating: z.number().int().min(1).max(5), notes: FreeText(5000).optional() })
  .openapi('InterviewFeedback');
const actorHeaders = idempotencyHeader.extend(actorHeader.shape);
const CandidateListQuery = ListQuery.extend({ stage: z.enum(CANDIDATE_STAGES).optional() });

const jobRoutesDef = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Recruitment'], summary: 'Open a job (its hiring manager is an employee)',
    request: { body: jsonBody(CreateJob), headers: idempotencyHeader }, responses: { 201: jsonResponse('The job', JobBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Recruitment'], summary: 'A job', request: { params: IdParam },
    responses: { 200: jsonResponse('The job', JobBody), ...commonErrors },
  }),
  candidates: createRoute({
    method: 'get', path: '/{id}/candidates', tags: ['Recruitment'], summary: 'A job’s candidates, newest first (optionally of one stage)',
    request: { params: IdParam, query: CandidateListQuery }, responses: { 200: jsonResponse('A page of candidates', listOf(CandidateBody)), ...commonErrors },
  }),
};

const candidateRoutesDef = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Recruitment'], summary: 'A candidate applies to a job (stage `applied`)',
    description: 'The candidate is reachable by the notification system as user `<cand_id>` at this e-mail (their offer is sent there).',
    request: { body: jsonBody(CreateCandidate), headers: idempotencyHeader }, responses: { 201: jsonResponse('The candidate', CandidateBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Recruitment'], summary: 'A candidate, with the stage history and interviews', request: { params: IdParam },
    responses: { 200: jsonResponse('The candidate', CandidateBody), ...commonErrors },
  }),
  advance: createRoute({
    method: 'post', path: '/{id}/advance', tags: ['Recruitment'], summary: 'Move a candidate to the next stage, or reject / withdraw them (actor)',
    description: 'applied → screening → interview → offer; rejected or withdrawn from any of them. A move that skips a stage or goes back, '
      + 'a candidate hired, rejected or withdrawn, or one with an offer waiting for a decision: `409 candidate_invalid_state`.',
    request: { params: IdParam, body: jsonBody(Advance), headers: actorHeaders }, responses: { 200: jsonResponse('The candidate', CandidateBody), ...commonErrors },
  }),
  interview: createRoute({
    method: 'post', path: '/{id}/interviews', tags: ['Recruitment'], summary: 'Schedule an interview (the interviewer is reminded before the slot)',
    description: 'The candidate must be in stage `interview` (`409 candidate_invalid_state`). The interviewer is reminded INTERVIEW_REMINDER_BEFORE the slot.',
    request: { params: IdParam, body: jsonBody(ScheduleInterview), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The interview', InterviewBody), ...commonErrors },
  }),
};

const interviewRoutesDef = {
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Recruitment'], summary: 'An interview', request: { params: IdParam },
    responses: { 200: jsonResponse('The interview', InterviewBody), ...commonErrors },
  }),
  feedback: createRoute({
    method: 'post', path: '/{id}/feedback', tags: ['Recruitment'], summary: 'The interviewer’s feedback (actor = the interviewer; once)',
    description: 'Anyone but the interviewer: `403 forbidden`. Feedback given already: `409 resource_exists`. '
      + 'The interview’s run stops waiting for it (`BusinessStatus` `awaiting_feedback` → `feedback_given`).',
    request: { params: IdParam, body: jsonBody(Feedback), headers: actorHeaders }, responses: { 200: jsonResponse('The interview', InterviewBody), ...commonErrors },
  }),
};

/** `/v1/jobs` (contract §11). */
export function jobRoutes({ pool }: AppDeps) {
  const requireJob = async (tenantId: string, id: string) => {
    const job = await findJob(pool, tenantId, id);
    if (!job) throw errors.resourceMissing('job', 'id');
    return job;
  };
  return createRouter()
    .openapi(jobRoutesDef.create, async (c) => {
      const b = c.req.valid('json');
      const job = await withTransaction(pool, async (client) => {
        const inserted = await insertJob(client, { tenantId: tenantOf(c), title: b.title, department: b.department, hiringManagerId: b.hiring_manager_id });
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      return c.json(serializeJob(job), 201);
    })
    .openapi(jobRoutesDef.get, async (c) => c.json(serializeJob(await requireJob(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi(jobRoutesDef.candidates, async (c) => {
      const job = await requireJob(tenantOf(c), c.req.valid('param').id);
      const q = c.req.valid('query');
      const page = await listCandidates(pool, job.tenantId, job.id, { limit: q.limit, startingAfter: q.starting_after, stage: q.stage });
      return c.json({ ...page, data: page.data.map((candidate) => serializeCandidate(candidate)) }, 200);
    });
}

/** `/v1/candidates` (contract §11); the offer route is api/hr/offers.ts. */
export function candidateRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  return createRouter()
    .openapi(candidateRoutesDef.create, async (c) => {
      const tenantId = tenantOf(c);
      const b = c.req.valid('json');
      const candidate = await withTransaction(pool, async (client) => {
        const inserted = await insertCandidate(client, { tenantId, jobId: b.job_id, name: b.name, email: b.email, actorId: actorIdOf(c) });
        // Where the notification system reaches the candidate (their offer): user `<cand_id>`.
        await putContacts(client, tenantId, inserted.id, { email: inserted.email });
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      return c.json(serializeCandidate(candidate), 201);
    })
    .openapi(candidateRoutesDef.get, async (c) => {
      const tenantId = tenantOf(c);
      const candidate = await findCandidate(pool, tenantId, c.req.valid('param').id);
      if (!candidate) throw errors.resourceMissing('candidate', 'id');
      return c.json(serializeCandidate(candidate, await listInterviews(pool, tenantId, candidate.id)), 200);
    })
    .openapi({ ...candidateRoutesDef.advance, middleware: [actor] as const }, async (c) => {
      const tenantId = tenantOf(c);
      const candidateId = c.req.valid('param').id;
      const candidate = await withTransaction(pool, async (client) => {
        await lockCandidate(client, tenantId, candidateId);
        if (await hasWaitingOffer(client, tenantId, candidateId)) {
          throw new RecruitmentError('candidate_invalid_state', 'The candidate has an offer waiting for a decision: it is decided (or expires) first.');
        }
        const moved = await moveCandidate(client, { tenantId, candidateId, to: c.req.valid('json').to, mover: 'advance', actorId: actorOf(c).sub });
        await recordAuditInTransaction(client, c, { resourceId: moved.id, status: 200 });
        return moved;
      });
      return c.json(serializeCandidate(candidate), 200);
    })
    .openapi(candidateRoutesDef.interview, async (c) => {
      const tenantId = tenantOf(c);
      const b = c.req.valid('json');
      const at = new Date(b.at);
      if (at.getTime() <= Date.now()) throw errors.parameterInvalid('at', 'The interview slot must be in the future.');
      const interview = await withTransaction(pool, async (client) => {
        const candidate = await lockCandidate(client, tenantId, c.req.valid('param').id);
        if (candidate.stage !== 'interview') {
          throw new RecruitmentError('candidate_invalid_state', `The candidate is ${candidate.stage}: interviews are scheduled in stage interview.`);
        }
        const inserted = await insertInterview(client, { tenantId, candidateId: candidate.id, interviewerId: b.interviewer_id, at });
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      await startWorkflow({ temporal, config }, workflowContracts.interviewReminder, {
        key: interview.id, tenantId,
        input: {
          tenantId, interviewId: interview.id, at: interview.at.toISOString(),
          remindBeforeMs: config.INTERVIEW_REMINDER_BEFORE, feedbackWindowMs: config.INTERVIEW_FEEDBACK_WINDOW,
        },
        undoIfNotStarted: () => deleteUnstartedInterview(pool, tenantId, interview.id),
      });
      return c.json(serializeInterview(interview), 201);
    });
}

/** `/v1/interviews` (contract §11). */
export function interviewRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  return createRouter()
    .openapi(interviewRoutesDef.get, async (c) => {
      const interview = await findInterview(pool, tenantOf(c), c.req.valid('param').id);
      if (!interview) throw errors.resourceMissing('interview', 'id');
      return c.json(serializeInterview(interview), 200);
    })
    .openapi({ ...interviewRoutesDef.feedback, middleware: [actor] as const }, async (c) => {
      const tenantId = tenantOf(c);
      const interview = await findInterview(pool, tenantId, c.req.valid('param').id);
      if (!interview) throw errors.resourceMissing('interview', 'id');
      if (actorOf(c).sub !== interview.interviewerId) throw errors.forbidden('Only the interviewer gives feedback on this interview.');
      const b = c.req.valid('json');
      const updated = await withTransaction(pool, async (client) => {
        const recorded = await recordFeedback(client, { tenantId, interviewId: interview.id, rating: b.rating, notes: b.notes ?? null });
        await recordAuditInTransaction(client, c, { resourceId: recorded.id, status: 200 });
        return recorded;
      });
      // The row is the record; the run only stops waiting (a closed run: its window passed, nothing to tell).
      await temporal.workflow.getHandle(workflowIdOf(workflowContracts.interviewReminder, updated.id)).signal(feedbackGivenSignal)
        .catch((err: unknown) => requestLog(c).info({ err, interviewId: updated.id }, 'the interview run did not take the feedback signal'));
      return c.json(serializeInterview(updated), 200);
    });
}

/** Who created a row without an actor header: the API key (the audit log says which). */
function actorIdOf(c: { get(key: 'actor'): { sub: string } | undefined }): string {
  return c.get('actor')?.sub ?? 'api_key';
}
