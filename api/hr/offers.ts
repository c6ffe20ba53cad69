import { createRoute, z } from '@hono/zod-openapi';
import type { UpdateDefinition } from '@temporalio/common';
import type { Context } from 'hono';
import { RecruitmentError } from '../../domain/hr/recruitment.js';
import { dayNumberOf } from '../../domain/hr/working-days.js';
import { AMOUNT_MAX } from '../../domain/money.js';
import { withTransaction } from '../../store/db.js';
import { lockCandidate } from '../../store/hr/candidates.js';
import { managerOf } from '../../store/hr/employees.js';
import { findJob } from '../../store/hr/jobs.js';
import { deleteUnstartedOffer, findOffer, insertOffer, type Offer } from '../../store/hr/offers.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import {
  acceptOfferUpdate, approveOfferUpdate, declineOfferUpdate, rejectOfferUpdate, type OfferActorArgs, type OfferResult,
} from '../../workflows/hr/recruitment-types.js';
import { createRouter, tenantOf, type AppDeps, type AppEnv } from '../context.js';
import { errors } from '../errors.js';
import { actorHeader, actorOf, requireActor } from '../middleware/actor.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, Currency, IdParam, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';
import { startWorkflow } from '../workflow-start.js';
import { runUpdate, updateIdOf } from '../workflow-updates.js';
import { OfferBody, serializeOffer } from './recruitment-serialize.js';
import { IsoDate } from './schemas.js';

const CreateOffer = z
  .strictObject({
    annual_salary: z.number().int().min(1).max(AMOUNT_MAX).openapi({ description: 'Yearly salary in the currency’s minor unit.', example: 6_000_000 }),
    currency: Currency,
    start_date: IsoDate.openapi({ description: 'The first day employed: the employee’s hire date and the compensation’s effective date.' }),
    expires_at: z.string().datetime({ offset: true }).openapi({ description: 'ISO 8601, in the future: undecided by then, the offer is `expired`.' }),
  })
  .openapi('CreateOffer');
const NoBody = z.strictObject({}).openapi('OfferAction');
const actorHeaders = idempotencyHeader.extend(actorHeader.shape);

const actionRoute = (path: 'approve' | 'reject' | 'accept' | 'decline', summary: string, description: string, withActor: boolean) => createRoute({
  method: 'post', path: `/{id}/${path}`, tags: ['Recruitment'], summary, description,
  request: { params: IdParam, body: { ...jsonBody(NoBody), required: false }, headers: withActor ? actorHeaders : idempotencyHeader },
  responses: { 200: jsonResponse('The offer', OfferBody), ...commonErrors },
});

const routes = {
  create: createRoute({
    method: 'post', path: '/{id}/offer', tags: ['Recruitment'], summary: 'Make a candidate an offer (actor): starts the offer workflow',
    description: 'The candidate must be in stage `offer` (`409 candidate_invalid_state`) and have no live offer (`409 resource_exists`). '
      + 'The hiring manager’s manager approves or rejects it; then the candidate accepts or declines it before `expires_at`, else it is `expired`. '
      + 'A hiring manager without a manager: approved at once.',
    request: { params: IdParam, body: jsonBody(CreateOffer), headers: actorHeaders },
    responses: { 201: jsonResponse('The offer', OfferBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Recruitment'], summary: 'An offer', request: { params: IdParam },
    responses: { 200: jsonResponse('The offer', OfferBody), ...commonErrors },
  }),
  approve: actionRoute('approve', 'Approve the offer (actor = the hiring manager’s manager)',
    'Anyone else: `403 not_approver`. The candidate is sent the offer (`offer.extended`).', true),
  reject: actionRoute('reject', 'Reject the offer (actor = the hiring manager’s manager)', 'Anyone else: `403 not_approver`.', true),
  accept: actionRoute('accept', 'The candidate accepts (tenant key): the candidate becomes an employee',
    'In one step: the employee (manager: the hiring manager; hire date: start_date) with the offered compensation and pro-rata leave; '
      + 'the candidate `hired`. Not awaiting the candidate, or expired: `409 offer_invalid_state`.', false),
  decline: actionRoute('decline', 'The candidate declines (tenant key)', 'Not awaiting the candidate, or expired: `409 offer_invalid_state`.', false),
};

const runUpdateOf = <T>(fn: () => Promise<T>) => runUpdate(fn, () => errors.offerInvalidState('The offer is decided.'));

/** `POST /v1/candidates/:id/offer` (mounted under `/v1/candidates`). */
export function candidateOfferRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  return createRouter().openapi({ ...routes.create, middleware: [actor] as const }, async (c) => {
    const tenantId = tenantOf(c);
    const b = c.req.valid('json');
    dayNumberOf(b.start_date, 'start_date');
    const expiresAt = new Date(b.expires_at);
    if (expiresAt.getTime() <= Date.now()) throw errors.parameterInvalid('expires_at', 'expires_at must be in the future.');
    const offer = await withTransaction(pool, async (client) => {
      const candidate = await lockCandidate(client, tenantId, c.req.valid('param').id);
      if (candidate.stage !== 'offer') {
        throw new RecruitmentError('candidate_invalid_state', `The candidate is ${candidate.stage}: offers are made in stage offer.`);
      }
      const job = await findJob(client, tenantId, candidate.jobId);
      if (!job) throw new Error(`candidate ${candidate.id}: job ${candidate.jobId} is missing`);
      const inserted = await insertOffer(client, {
        tenantId, candidateId: candidate.id, annualSalaryMinor: b.annual_salary, currency: b.currency, startDate: b.start_date, expiresAt,
        approverId: await managerOf(client, tenantId, job.hiringManagerId), createdBy: actorOf(c).sub,
      });
      await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
      return inserted;
    });
    await startWorkflow({ temporal, config }, workflowContracts.offer, {
      key: offer.id, tenantId,
      input: { tenantId, offerId: offer.id, approverId: offer.approverId, expiresAt: offer.expiresAt.toISOString() },
      undoIfNotStarted: () => deleteUnstartedOffer(pool, tenantId, offer.id),
    });
    return c.json(serializeOffer(offer), 201);
  });
}

/** `/v1/offers` (contract §11): every decision is an Update of the offer's run, answered once it is recorded. */
export function offerRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });
  const requireOffer = async (tenantId: string, id: string) => {
    const offer = await findOffer(pool, tenantId, id);
    if (!offer) throw errors.resourceMissing('offer', 'id');
    return offer;
  };
  const handle = (offer: Offer) => temporal.workflow.getHandle(workflowIdOf(workflowContracts.offer, offer.id));

  /** The approver's decision: anyone else is refused here first, so a refusal never reaches the run. */
  async function decide(c: Context<AppEnv>, update: UpdateDefinition<OfferResult, [OfferActorArgs]>, action: string) {
    const offer = await requireOffer(tenantOf(c), c.req.param('id')!);
    const actorId = actorOf(c).sub;
    if (offer.approverId === null || actorId !== offer.approverId) {
      throw errors.notApprover('Only the hiring manager’s manager can approve or reject this offer.');
    }
    await runUpdateOf(() => handle(offer).executeUpdate(update, { updateId: updateIdOf(c, action), args: [{ actorId }] }));
    return serializeOffer(await requireOffer(offer.tenantId, offer.id));
  }
  /** The candidate's answer (the tenant's key speaks for them). */
  async function answer(c: Context<AppEnv>, update: UpdateDefinition<OfferResult, []>, action: string) {
    const offer = await requireOffer(tenantOf(c), c.req.param('id')!);
    if (offer.status !== 'awaiting_candidate') throw errors.offerInvalidState(`The offer is ${offer.status}.`);
    await runUpdateOf(() => handle(offer).executeUpdate(update, { updateId: updateIdOf(c, action), args: [] }));
    return serializeOffer(await requireOffer(offer.tenantId, offer.id));
  }

  return createRouter()
    .openapi(routes.get, async (c) => c.json(serializeOffer(await requireOffer(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi({ ...routes.approve, middleware: [actor] as const }, async (c) => c.json(await decide(c, approveOfferUpdate, 'approve'), 200))
    .openapi({ ...routes.reject, middleware: [actor] as const }, async (c) => c.json(await decide(c, rejectOfferUpdate, 'reject'), 200))
    .openapi(routes.accept, async (c) => c.json(await answer(c, acceptOfferUpdate, 'accept'), 200))
    .openapi(routes.decline, async (c) => c.json(await answer(c, declineOfferUpdate, 'decline'), 200));
}
