import { createRoute, z } from '@hono/zod-openapi';
import {
  checkCycleDates, checkManagerSubmission, checkSelfSubmission, RATING_MAX, RATING_MIN, REVIEW_STATUSES, summarizeRatings, type ReviewStatus,
} from '../../domain/hr/reviews.js';
import { dayNumberOf } from '../../domain/hr/working-days.js';
import { reviewCycleWorkflowInput } from '../../platform/review-settings.js';
import { withTransaction } from '../../store/db.js';
import { checkActiveEmployees, deleteOpeningCycle, findReviewCycle, insertReviewCycle, listReviewCycles } from '../../store/hr/review-cycles.js';
import { findReview, listCycleReviews, ratingGroups, writeManagerReview, writeSelfReview, type ReviewWithCycle } from '../../store/hr/reviews.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import { closeReviewCycleUpdate } from '../../workflows/hr/review-cycle-types.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { actorHeader, actorOf, requireActor } from '../middleware/actor.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, FreeText, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { startWorkflow, waitUntil } from '../workflow-start.js';
import { runUpdate, updateIdOf } from '../workflow-updates.js';
import { IsoDate, PersonText } from './schemas.js';
import { ReviewBody, ReviewCycleBody, ReviewSummaryBody, serializeReview, serializeReviewCycle } from './serialize-reviews.js';

/** At most this many `employee_ids` in one cycle (the body limit, 64 KiB, allows about 2,000 anyway). */
export const CYCLE_EMPLOYEE_IDS_MAX = 10_000;
const ANSWERS_MAX = 50;

const Timestamp = z.string().datetime({ offset: true });
const EmployeeId = z.string().min(1).max(100);
const CreateCycle = z
  .strictObject({
    name: PersonText(200), period_start: IsoDate, period_end: IsoDate,
    self_review_due: Timestamp.openapi({ description: 'ISO 8601: employees still owing their self review are reminded REVIEW_REMINDER_BEFORE it.' }),
    manager_review_due: Timestamp.openapi({
      description: 'ISO 8601, not before self_review_due: reviewers are reminded before it; reviews still waiting REVIEW_ESCALATION_AFTER it go to the reviewer’s manager.',
    }),
    employee_ids: z.array(EmployeeId).min(1).max(CYCLE_EMPLOYEE_IDS_MAX).optional()
      .openapi({ description: 'Only these (active) employees; absent: every active employee.' }),
  })
  .openapi('CreateReviewCycle');
const Rating = z.number().int().min(RATING_MIN).max(RATING_MAX);
const SelfReview = z
  .strictObject({
    rating: Rating,
    answers: z.record(z.string().min(1).max(200), FreeText(5000))
      .refine((a) => Object.keys(a).length <= ANSWERS_MAX, { message: `At most ${ANSWERS_MAX} answers.` }),
    employee_id: EmployeeId.optional().openapi({ description: 'When given, must be the acting user (else 403).' }),
  })
  .openapi('SelfReview');
const ManagerReview = z
  .strictObject({
    rating: Rating, comments: FreeText(5000),
    reviewer_id: EmployeeId.optional().openapi({ description: 'When given, must be the acting user (else 403).' }),
  })
  .openapi('ManagerReview');
const NoBody = z.strictObject({}).openapi('ReviewCycleAction');
const actorHeaders = idempotencyHeader.extend(actorHeader.shape);
const ReviewListQuery = ListQuery.extend({ status: z.enum(REVIEW_STATUSES).optional(), reviewer_id: EmployeeId.optional() });

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Reviews'], summary: 'Open a review cycle: one review per active employee',
    description: 'Starts the cycle’s workflow (`review-cycle-<id>`), which opens every review in one statement, reminds before each due '
      + 'date, escalates overdue manager reviews and waits for `close`. Answers once the reviews are open (or `opening` after the wait window).',
    request: { body: jsonBody(CreateCycle), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The cycle', ReviewCycleBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags: ['Reviews'], summary: 'Review cycles, newest first', request: { query: ListQuery },
    responses: { 200: jsonResponse('A page of cycles', listOf(ReviewCycleBody)), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Reviews'], summary: 'A review cycle', request: { params: IdParam },
    responses: { 200: jsonResponse('The cycle', ReviewCycleBody), ...commonErrors },
  }),
  reviews: createRoute({
    method: 'get', path: '/{id}/reviews', tags: ['Reviews'], summary: 'The cycle’s reviews, by id', request: { params: IdParam, query: ReviewListQuery },
    responses: { 200: jsonResponse('A page of reviews', listOf(ReviewBody)), ...commonErrors },
  }),
  close: createRoute({
    method: 'post', path: '/{id}/close', tags: ['Reviews'], summary: 'Close the cycle: manager ratings become final',
    description: 'Acting user required (`closed_by`). Reviews still waiting become `incomplete`. Closed already, or still opening: `409 review_invalid_state`.',
    request: { params: IdParam, body: { ...jsonBody(NoBody), required: false }, headers: actorHeaders },
    responses: { 200: jsonResponse('The cycle', ReviewCycleBody), ...commonErrors },
  }),
  summary: createRoute({
    method: 'get', path: '/{id}/summary', tags: ['Reviews'], summary: 'The rating distribution per department (final once closed)',
    request: { params: IdParam }, responses: { 200: jsonResponse('The summary', ReviewSummaryBody), ...commonErrors },
  }),
};

const reviewRoutesDef = {
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Reviews'], summary: 'A review', request: { params: IdParam },
    responses: { 200: jsonResponse('The review', ReviewBody), ...commonErrors },
  }),
  self: createRoute({
    method: 'post', path: '/{id}/self', tags: ['Reviews'], summary: 'Submit the self review (actor: the employee)',
    description: 'Someone else: `403 forbidden`; not waiting for it (submitted, cancelled, the cycle closed): `409 review_invalid_state`.',
    request: { params: IdParam, body: jsonBody(SelfReview), headers: actorHeaders },
    responses: { 200: jsonResponse('The review', ReviewBody), ...commonErrors },
  }),
  manager: createRoute({
    method: 'post', path: '/{id}/manager', tags: ['Reviews'], summary: 'Submit the manager review (actor: the current reviewer)',
    description: 'After the self review or once its due date has passed. Anyone but the current reviewer (and always the employee): '
      + '`403 forbidden`; too early or not waiting: `409 review_invalid_state`.',
    request: { params: IdParam, body: jsonBody(ManagerReview), headers: actorHeaders },
    responses: { 200: jsonResponse('The review', ReviewBody), ...commonErrors },
  }),
};

const stateOf = (r: ReviewWithCycle) => ({
  cycleStatus: r.cycleStatus, employeeId: r.employeeId, reviewerId: r.reviewerId, status: r.status as ReviewStatus,
  selfReviewDueMs: r.selfReviewDue.getTime(),
});

/** `/v1/review-cycles` (contract §11). */
export function reviewCycleRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  const requireCycle = async (tenantId: string, id: string) => {
    const cycle = await findReviewCycle(pool, tenantId, id);
    if (!cycle) throw errors.resourceMissing('review cycle', 'id');
    return cycle;
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const tenantId = tenantOf(c);
      const b = c.req.valid('json');
      dayNumberOf(b.period_start, 'period_start');
      dayNumberOf(b.period_end, 'period_end');
      const selfReviewDue = new Date(b.self_review_due);
      const managerReviewDue = new Date(b.manager_review_due);
      checkCycleDates({ periodStart: b.period_start, periodEnd: b.period_end, selfReviewDueMs: selfReviewDue.getTime(), managerReviewDueMs: managerReviewDue.getTime() });
      const employeeIds = b.employee_ids ? [...new Set(b.employee_ids)] : null;
      if (employeeIds) await checkActiveEmployees(pool, tenantId, employeeIds);
      const created = await withTransaction(pool, async (client) => {
        const inserted = await insertReviewCycle(client, {
          tenantId, name: b.name, periodStart: b.period_start, periodEnd: b.period_end, selfReviewDue, managerReviewDue, employeeIds,
        });
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      // Definitely not started: the cycle is removed (the request changed nothing); maybe started: the start reconciler sees to it.
      await startWorkflow({ temporal, config }, workflowContracts.reviewCycle, {
        key: created.id, tenantId, input: reviewCycleWorkflowInput(config, created), undoIfNotStarted: () => deleteOpeningCycle(pool, tenantId, created.id),
      });
      let current = created;
      await waitUntil(async () => (current = await requireCycle(tenantId, created.id)).status !== 'opening', config.API_WAIT_WINDOW_MS);
      return c.json(serializeReviewCycle(current), 201);
    })
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const page = await listReviewCycles(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ ...page, data: page.data.map(serializeReviewCycle) }, 200);
    })
    .openapi(routes.get, async (c) => c.json(serializeReviewCycle(await requireCycle(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi(routes.reviews, async (c) => {
      const cycle = await requireCycle(tenantOf(c), c.req.valid('param').id);
      const q = c.req.valid('query');
      const page = await listCycleReviews(pool, cycle.tenantId, cycle.id, {
        limit: q.limit, startingAfter: q.starting_after, status: q.status, reviewerId: q.reviewer_id,
      });
      return c.json({ ...page, data: page.data.map(serializeReview) }, 200);
    })
    .openapi({ ...routes.close, middleware: [actor] as const }, async (c) => {
      const cycle = await requireCycle(tenantOf(c), c.req.valid('param').id);
      if (cycle.status !== 'open') throw errors.reviewInvalidState(`The review cycle is ${cycle.status}.`);
      const handle = temporal.workflow.getHandle(workflowIdOf(workflowContracts.reviewCycle, cycle.id));
      await runUpdate(
        () => handle.executeUpdate(closeReviewCycleUpdate, { updateId: updateIdOf(c, 'close'), args: [{ closedBy: actorOf(c).sub }] }),
        () => errors.reviewInvalidState('The review cycle is closed.'),
      );
      return c.json(serializeReviewCycle(await requireCycle(cycle.tenantId, cycle.id)), 200);
    })
    .openapi(routes.summary, async (c) => {
      const cycle = await requireCycle(tenantOf(c), c.req.valid('param').id);
      const groups = await ratingGroups(pool, cycle.tenantId, cycle.id);
      const departments = summarizeRatings(groups);
      const totals = summarizeRatings(groups.map((g) => ({ ...g, department: '' })))[0];
      return c.json({
        object: 'review_cycle_summary' as const, cycle_id: cycle.id, status: cycle.status, final: cycle.status === 'closed',
        reviews: totals?.reviews ?? 0, rated: totals?.rated ?? 0, distribution: totals?.distribution ?? { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 },
        average_rating: totals?.average_rating ?? null, departments,
      }, 200);
    });
}

/** `/v1/reviews` (contract §11): submissions are plain writes on the review row, checked on the locked row. */
export function reviewRoutes({ pool, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  const requireReview = async (tenantId: string, id: string) => {
    const review = await findReview(pool, tenantId, id);
    if (!review) throw errors.resourceMissing('review', 'id');
    return review;
  };
  /** Locks the review and its cycle, checks `rule`, writes, audits; answers the review as it is after. */
  async function submit(tenantId: string, id: string, write: (client: Parameters<Parameters<typeof withTransaction>[1]>[0], r: ReviewWithCycle) => Promise<void>) {
    await withTransaction(pool, async (client) => {
      const review = await findReview(client, tenantId, id, true);
      if (!review) throw errors.resourceMissing('review', 'id');
      await write(client, review);
    });
    return serializeReview(await requireReview(tenantId, id));
  }
  return createRouter()
    .openapi(reviewRoutesDef.get, async (c) => c.json(serializeReview(await requireReview(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi({ ...reviewRoutesDef.self, middleware: [actor] as const }, async (c) => {
      const b = c.req.valid('json');
      const actorId = actorOf(c).sub;
      if (b.employee_id !== undefined && b.employee_id !== actorId) throw errors.forbidden('employee_id must be the acting user.');
      return c.json(await submit(tenantOf(c), c.req.valid('param').id, async (client, review) => {
        const next = checkSelfSubmission(stateOf(review), actorId);
        await writeSelfReview(client, { tenantId: review.tenantId, reviewId: review.id, rating: b.rating, answers: b.answers, next });
        await recordAuditInTransaction(client, c, { resourceId: review.id, status: 200 });
      }), 200);
    })
    .openapi({ ...reviewRoutesDef.manager, middleware: [actor] as const }, async (c) => {
      const b = c.req.valid('json');
      const actorId = actorOf(c).sub;
      if (b.reviewer_id !== undefined && b.reviewer_id !== actorId) throw errors.forbidden('reviewer_id must be the acting user.');
      return c.json(await submit(tenantOf(c), c.req.valid('param').id, async (client, review) => {
        const next = checkManagerSubmission(stateOf(review), actorId, Date.now());
        await writeManagerReview(client, { tenantId: review.tenantId, reviewId: review.id, reviewerId: actorId, rating: b.rating, comments: b.comments, next });
        await recordAuditInTransaction(client, c, { resourceId: review.id, status: 200 });
      }), 200);
    });
}
