import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { applyRiskSettingsPatch, riskSettingsProblem } from '../../domain/risk/settings.js';
import { REVIEW_STATUSES, type RiskSettings } from '../../domain/risk/types.js';
import { findAccount } from '../../store/ledger/accounts.js';
import { deleteBlocklistEntry, insertBlocklistEntry, listBlocklist, type BlocklistEntry } from '../../store/risk/blocklist.js';
import { findReview, listReviews } from '../../store/risk/reviews.js';
import { findRiskSettings, saveRiskSettings } from '../../store/risk/settings.js';
import { decideReviewUpdate } from '../../workflows/risk/review.js';
import { createRouter, tenantOf, type AppDeps, type AppEnv } from '../context.js';
import { errors } from '../errors.js';
import { actorHeader, actorOf, requireActor } from '../middleware/actor.js';
import { commonErrors, FreeText, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { runUpdate, updateIdOf } from '../workflow-updates.js';
import { ReviewBody, serializeReview } from './serialize.js';

/** Contract §8: risk settings per tenant, the block list, and the reviews people decide. */

const Score = z.number().int().min(0).max(100);
const Threshold = z.number().int().min(1).max(100);
const Count = z.number().int().min(1).max(1_000_000);
const Seconds = z.number().int().min(1).max(366 * 86_400);
const AmountMinor = z.number().int().min(1).max(1_000_000_000_000);
const rule = <T extends z.ZodRawShape>(params: T) => z.strictObject({ enabled: z.boolean(), score: Score, ...params });

const RulesBody = z.object({
  velocity_count: rule({ max_count: Count, window_seconds: Seconds }),
  velocity_amount: rule({ max_amount: AmountMinor, window_seconds: Seconds }),
  amount_outlier: rule({ multiplier: z.number().int().min(1).max(1_000), min_history: z.number().int().min(1).max(50), lookback_days: z.number().int().min(1).max(366) }),
  new_counterparty: rule({}),
  new_account: rule({ min_age_seconds: Seconds }),
  topup_then_drain: rule({ window_seconds: Seconds, drain_percent: z.number().int().min(1).max(100) }),
  card_testing: rule({ min_declines: Count, small_amount_max: AmountMinor, window_seconds: Seconds }),
  blocklisted: rule({}),
});

const SettingsBody = z
  .object({ object: z.literal('risk_settings'), review_threshold: Threshold, block_threshold: Threshold, rules: RulesBody })
  .openapi('RiskSettings');

/** A PUT names what it changes: every rule and every parameter optional, unknown ones refused. */
const partialRules = Object.fromEntries(Object.entries(RulesBody.shape).map(([code, schema]) => [code, schema.partial().optional()])) as {
  [K in keyof typeof RulesBody.shape]: z.ZodOptional<ReturnType<(typeof RulesBody.shape)[K]['partial']>>
};
const UpdateSettings = z
  .strictObject({ review_threshold: Threshold.optional(), block_threshold: Threshold.optional(), rules: z.strictObject(partialRules).optional() })
  .openapi('UpdateRiskSettings');

const BlocklistType = z.enum(['account', 'card_token']);
const CreateBlocklistEntry = z.strictObject({ type: BlocklistType, value: z.string().min(1).max(255) }).openapi('CreateBlocklistEntry');
const BlocklistEntryBody = z
  .object({ id: z.string(), object: z.literal('blocklist_entry'), type: BlocklistType, value: z.string(), created_at: z.string(), deleted: z.boolean().optional() })
  .openapi('BlocklistEntry');
const Decision = z.strictObject({ note: FreeText(1_000).optional() }).openapi('RiskReviewDecision');
const ReviewListQuery = ListQuery.extend({ status: z.enum(REVIEW_STATUSES).optional() });

const serializeSettings = (s: RiskSettings): z.infer<typeof SettingsBody> => ({ object: 'risk_settings', ...s });
const serializeEntry = (e: BlocklistEntry) => ({ id: e.id, object: 'blocklist_entry' as const, type: e.type, value: e.value, created_at: e.createdAt.toISOString() });

const decisionRoute = (verb: 'approve' | 'decline', summary: string) => createRoute({
  method: 'post', path: `/reviews/{id}/${verb}`, tags: ['Risk'], summary,
  description: 'A tenant key with the acting user (`Steadfast-Actor`), or the admin key. A decided review is final (`409 review_invalid_state`).',
  request: { params: IdParam, body: { ...jsonBody(Decision), required: false }, headers: idempotencyHeader.extend(actorHeader.shape) },
  responses: { 200: jsonResponse('The decided review', ReviewBody), ...commonErrors },
});

const routes = {
  getSettings: createRoute({
    method: 'get', path: '/settings', tags: ['Risk'], summary: 'The tenant’s risk thresholds and rules',
    responses: { 200: jsonResponse('The settings', SettingsBody), ...commonErrors },
  }),
  putSettings: createRoute({
    method: 'put', path: '/settings', tags: ['Risk'], summary: 'Change what the body names (the rest keeps its setting)',
    request: { body: jsonBody(UpdateSettings), headers: idempotencyHeader },
    responses: { 200: jsonResponse('The settings', SettingsBody), ...commonErrors },
  }),
  addBlocklist: createRoute({
    method: 'post', path: '/blocklist', tags: ['Risk'], summary: 'Block a payee account or a card token (score 100: block)',
    request: { body: jsonBody(CreateBlocklistEntry), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The entry', BlocklistEntryBody), ...commonErrors },
  }),
  listBlocklist: createRoute({
    method: 'get', path: '/blocklist', tags: ['Risk'], summary: 'The block list, newest first',
    request: { query: ListQuery },
    responses: { 200: jsonResponse('A page of entries', listOf(BlocklistEntryBody)), ...commonErrors },
  }),
  deleteBlocklist: createRoute({
    method: 'delete', path: '/blocklist/{id}', tags: ['Risk'], summary: 'Unblock',
    request: { params: IdParam },
    responses: { 200: jsonResponse('The removed entry', BlocklistEntryBody), ...commonErrors },
  }),
  listReviews: createRoute({
    method: 'get', path: '/reviews', tags: ['Risk'], summary: 'Reviews, newest first (by status)',
    request: { query: ReviewListQuery },
    responses: { 200: jsonResponse('A page of reviews', listOf(ReviewBody)), ...commonErrors },
  }),
  getReview: createRoute({
    method: 'get', path: '/reviews/{id}', tags: ['Risk'], summary: 'A review',
    request: { params: IdParam },
    responses: { 200: jsonResponse('The review', ReviewBody), ...commonErrors },
  }),
  approve: decisionRoute('approve', 'Approve: the transfer posts, the payment authorizes'),
  decline: decisionRoute('decline', 'Decline: the hold is voided, the object ends failed (risk_declined)'),
};

export function riskRoutes({ pool, temporal, config }: AppDeps) {
  const actor = requireActor({ pool, config });

  /** Decides through the run's `decideReview` Update; a decided review or a closed run is `409 review_invalid_state`. */
  async function decide(c: Context<AppEnv>, id: string, decision: 'approved' | 'declined', note: string | undefined) {
    const auth = c.get('auth');
    const review = await findReview(pool, auth.kind === 'tenant' ? auth.tenantId : null, id);
    if (!review) throw errors.resourceMissing('review', 'id');
    if (auth.kind === 'admin') c.set('auditTenantId', review.tenantId);
    if (review.status !== 'open') throw errors.reviewInvalidState();
    await runUpdate(() => temporal.workflow.getHandle(review.workflowId).executeUpdate(decideReviewUpdate, {
      updateId: updateIdOf(c, 'decide-review'),
      args: [{ decision, decidedBy: actorOf(c).sub, ...(note === undefined ? {} : { note }) }],
    }), () => errors.reviewInvalidState('The review is no longer open.'));
    return serializeReview((await findReview(pool, review.tenantId, review.id))!);
  }

  return createRouter()
    .openapi(routes.getSettings, async (c) => c.json(serializeSettings(await findRiskSettings(pool, tenantOf(c))), 200))
    .openapi(routes.putSettings, async (c) => {
      const tenantId = tenantOf(c);
      const next = applyRiskSettingsPatch(await findRiskSettings(pool, tenantId), c.req.valid('json'));
      const problem = riskSettingsProblem(next);
      if (problem) throw errors.parameterInvalid('review_threshold', problem);
      await saveRiskSettings(pool, tenantId, next);
      return c.json(serializeSettings(next), 200);
    })
    .openapi(routes.addBlocklist, async (c) => {
      const tenantId = tenantOf(c);
      const { type, value } = c.req.valid('json');
      if (type === 'account' && !(await findAccount(pool, tenantId, value))) throw errors.resourceMissing('account', 'value');
      const entry = await insertBlocklistEntry(pool, tenantId, type, value);
      if (!entry) throw errors.resourceExists('This value is on the block list already.', 'value');
      return c.json(serializeEntry(entry), 201);
    })
    .openapi(routes.listBlocklist, async (c) => {
      const q = c.req.valid('query');
      const page = await listBlocklist(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ ...page, data: page.data.map(serializeEntry) }, 200);
    })
    .openapi(routes.deleteBlocklist, async (c) => {
      const entry = await deleteBlocklistEntry(pool, tenantOf(c), c.req.valid('param').id);
      if (!entry) throw errors.resourceMissing('blocklist entry', 'id');
      return c.json({ ...serializeEntry(entry), deleted: true }, 200);
    })
    .openapi(routes.listReviews, async (c) => {
      const q = c.req.valid('query');
      const page = await listReviews(pool, tenantOf(c), q.status, { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ ...page, data: page.data.map(serializeReview) }, 200);
    })
    .openapi(routes.getReview, async (c) => {
      const review = await findReview(pool, tenantOf(c), c.req.valid('param').id);
      if (!review) throw errors.resourceMissing('review', 'id');
      return c.json(serializeReview(review), 200);
    })
    .openapi({ ...routes.approve, middleware: [actor] as const }, async (c) =>
      c.json(await decide(c, c.req.valid('param').id, 'approved', c.req.valid('json')?.note), 200))
    .openapi({ ...routes.decline, middleware: [actor] as const }, async (c) =>
      c.json(await decide(c, c.req.valid('param').id, 'declined', c.req.valid('json')?.note), 200));
}

