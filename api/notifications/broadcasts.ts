import { createRoute, z } from '@hono/zod-openapi';
import {
  BROADCAST_CHANNELS, BROADCAST_DELIVERY_STATUSES, BROADCAST_STATUSES,
} from '../../domain/notifications/broadcast.js';
import { PRIORITIES } from '../../domain/notifications/types.js';
import { withTransaction } from '../../store/db.js';
import {
  cancelBroadcast, findBroadcast, insertBroadcast, listBroadcastDeliveries, type Broadcast,
} from '../../store/notifications/broadcasts.js';
import { findTemplate } from '../../store/notifications/templates.js';
import { workflowContracts } from '../../workflows/contracts.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { startWorkflow } from '../workflow-start.js';
import { broadcastWorkflowInput } from '../../platform/notification-settings.js';

const CreateBroadcast = z
  .strictObject({
    topic_key: z.string().min(1).max(100),
    template_id: z.string().min(1).max(100),
    data: z.record(z.string(), z.unknown()).default({}),
    channels: z.array(z.enum(BROADCAST_CHANNELS)).min(1).max(BROADCAST_CHANNELS.length)
      .openapi({ description: 'in_app and push (e-mail and SMS broadcasts: not yet).' }),
    priority: z.enum(PRIORITIES).default('normal'),
    scheduled_at: z.string().datetime({ offset: true }).optional(),
  })
  .openapi('CreateBroadcast');

const BroadcastBody = z
  .object({
    id: z.string(), object: z.literal('broadcast'), status: z.enum(BROADCAST_STATUSES), topic_key: z.string(), template_id: z.string(),
    channels: z.array(z.string()), priority: z.string(), scheduled_at: z.string().nullable(), recipients: z.number().int(),
    counts: z.object({ sent: z.number().int(), failed: z.number().int(), skipped_opt_out: z.number().int(), skipped_no_contact: z.number().int() })
      .openapi({ description: 'Per delivery (recipient × channel); they add up to recipients × channels once completed.' }),
    created_at: z.string(), updated_at: z.string(),
  })
  .openapi('Broadcast');
const DeliveryBody = z
  .object({
    id: z.string().openapi({ description: '`<user id>:<channel>`, the cursor of the list.' }), object: z.literal('broadcast_delivery'),
    user_id: z.string(), channel: z.string(), status: z.enum(BROADCAST_DELIVERY_STATUSES), error: z.string().nullable(), created_at: z.string(),
  })
  .openapi('BroadcastDelivery');
const DeliveryQuery = ListQuery.extend({ starting_after: z.string().min(1).max(300).optional(), status: z.enum(BROADCAST_DELIVERY_STATUSES).optional() });

const serializeBroadcast = (b: Broadcast): z.infer<typeof BroadcastBody> => ({
  id: b.id, object: 'broadcast', status: b.status, topic_key: b.topicKey, template_id: b.templateId, channels: b.channels, priority: b.priority,
  scheduled_at: b.scheduledAt?.toISOString() ?? null, recipients: b.recipients, counts: b.counts,
  created_at: b.createdAt.toISOString(), updated_at: b.updatedAt.toISOString(),
});

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Notifications'], summary: 'Broadcast a template to a topic’s subscribers (one workflow, in pages)',
    request: { body: jsonBody(CreateBroadcast), headers: idempotencyHeader },
    responses: { 202: jsonResponse('The broadcast, queued', BroadcastBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Notifications'], summary: 'A broadcast with its progress', request: { params: IdParam },
    responses: { 200: jsonResponse('The broadcast', BroadcastBody), ...commonErrors },
  }),
  cancel: createRoute({
    method: 'post', path: '/{id}/cancel', tags: ['Notifications'], summary: 'Cancel: what is not sent yet is not sent',
    request: { params: IdParam, headers: idempotencyHeader },
    responses: { 200: jsonResponse('The broadcast', BroadcastBody), ...commonErrors },
  }),
  deliveries: createRoute({
    method: 'get', path: '/{id}/deliveries', tags: ['Notifications'], summary: 'The outcome per recipient and channel',
    request: { params: IdParam, query: DeliveryQuery },
    responses: { 200: jsonResponse('A page of deliveries', listOf(DeliveryBody)), ...commonErrors },
  }),
};

/** `/v1/broadcasts` (contract §10). */
export function broadcastRoutes({ pool, temporal, config }: AppDeps) {
  const requireBroadcast = async (tenantId: string, id: string) => {
    const b = await findBroadcast(pool, tenantId, id);
    if (!b) throw errors.resourceMissing('broadcast', 'id');
    return b;
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const tenantId = tenantOf(c);
      const body = c.req.valid('json');
      const template = await findTemplate(pool, tenantId, body.template_id);
      if (!template) throw errors.resourceMissing('notification template', 'template_id');
      const missing = body.channels.find((channel) => template.channels[channel] === undefined);
      if (missing) throw errors.parameterInvalid('channels', `The template has no ${missing} content.`);
      const created = await withTransaction(pool, async (client) => {
        const inserted = await insertBroadcast(client, {
          tenantId, topicKey: body.topic_key, templateId: body.template_id, data: body.data, channels: [...new Set(body.channels)],
          priority: body.priority, scheduledAt: body.scheduled_at ? new Date(body.scheduled_at) : null,
        });
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 202 });
        return inserted;
      });
      await startWorkflow({ temporal, config }, workflowContracts.broadcast, {
        key: created.id, tenantId,
        input: broadcastWorkflowInput(config, created),
        // Definitely not started: nothing was sent, so the broadcast is cancelled (the client may send it again).
        undoIfNotStarted: () => cancelBroadcast(pool, tenantId, created.id),
      });
      return c.json(serializeBroadcast(created), 202);
    })
    .openapi(routes.get, async (c) => c.json(serializeBroadcast(await requireBroadcast(tenantOf(c), c.req.valid('param').id)), 200))
    .openapi(routes.cancel, async (c) => {
      const tenantId = tenantOf(c);
      const b = await withTransaction(pool, async (client) => {
        const cancelled = await cancelBroadcast(client, tenantId, c.req.valid('param').id);
        await recordAuditInTransaction(client, c, { resourceId: cancelled.id, status: 200 });
        return cancelled;
      });
      return c.json(serializeBroadcast(b), 200);
    })
    .openapi(routes.deliveries, async (c) => {
      const b = await requireBroadcast(tenantOf(c), c.req.valid('param').id);
      const q = c.req.valid('query');
      const page = await listBroadcastDeliveries(pool, b.id, { limit: q.limit, startingAfter: q.starting_after, status: q.status });
      return c.json({
        ...page,
        data: page.data.map((d) => ({
          id: `${d.userId}:${d.channel}`, object: 'broadcast_delivery' as const, user_id: d.userId, channel: d.channel, status: d.status,
          error: d.error, created_at: d.createdAt.toISOString(),
        })),
      }, 200);
    });
}
