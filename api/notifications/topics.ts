import { createRoute, z } from '@hono/zod-openapi';
import { withTransaction } from '../../store/db.js';
import {
  createTopic, findTopic, listSubscribers, subscribe, SUBSCRIBE_BATCH_MAX, unsubscribe, type Topic,
} from '../../store/notifications/topics.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { commonErrors, FreeText, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';

const TopicKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/).openapi({ example: 'product-news' });
const UserId = z.string().min(1).max(255);
const KeyParam = z.strictObject({ key: TopicKey.openapi({ param: { name: 'key', in: 'path' } }) });
const SubscriberParam = KeyParam.extend({ user_id: UserId.openapi({ param: { name: 'user_id', in: 'path' } }) });

const CreateTopic = z.strictObject({ key: TopicKey, name: FreeText(200).pipe(z.string().min(1)) }).openapi('CreateTopic');
const Subscribe = z.strictObject({ user_ids: z.array(UserId).min(1).max(SUBSCRIBE_BATCH_MAX) }).openapi('SubscribeToTopic');

const TopicBody = z
  .object({ object: z.literal('topic'), key: z.string(), name: z.string(), subscribers_count: z.number().int(), created_at: z.string() })
  .openapi('Topic');
const SubscribedBody = TopicBody.extend({ added: z.number().int().openapi({ description: 'Users subscribed by this call (the others were already).' }) })
  .openapi('TopicSubscribed');
const SubscriptionBody = z
  .object({ object: z.literal('topic_subscription'), topic_key: z.string(), user_id: z.string(), created_at: z.string().optional(), deleted: z.boolean().optional() })
  .openapi('TopicSubscription');

const serializeTopic = (t: Topic): z.infer<typeof TopicBody> => ({
  object: 'topic', key: t.key, name: t.name, subscribers_count: t.subscribersCount, created_at: t.createdAt.toISOString(),
});

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Notifications'], summary: 'Create a topic (an audience for broadcasts)',
    request: { body: jsonBody(CreateTopic), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The topic', TopicBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{key}', tags: ['Notifications'], summary: 'A topic with its subscriber count', request: { params: KeyParam },
    responses: { 200: jsonResponse('The topic', TopicBody), ...commonErrors },
  }),
  subscribe: createRoute({
    method: 'post', path: '/{key}/subscribers', tags: ['Notifications'], summary: `Subscribe users (up to ${SUBSCRIBE_BATCH_MAX} per call; idempotent)`,
    request: { params: KeyParam, body: jsonBody(Subscribe), headers: idempotencyHeader },
    responses: { 200: jsonResponse('The topic', SubscribedBody), ...commonErrors },
  }),
  subscribers: createRoute({
    method: 'get', path: '/{key}/subscribers', tags: ['Notifications'], summary: 'The topic’s subscribers, by user id',
    request: { params: KeyParam, query: ListQuery },
    responses: { 200: jsonResponse('A page of subscriptions', listOf(SubscriptionBody)), ...commonErrors },
  }),
  unsubscribe: createRoute({
    method: 'delete', path: '/{key}/subscribers/{user_id}', tags: ['Notifications'], summary: 'Unsubscribe a user',
    request: { params: SubscriberParam },
    responses: { 200: jsonResponse('The removed subscription', SubscriptionBody), ...commonErrors },
  }),
};

/** `/v1/topics` (contract §10). */
export function topicRoutes({ pool }: AppDeps) {
  const requireTopic = async (tenantId: string, key: string) => {
    const topic = await findTopic(pool, tenantId, key);
    if (!topic) throw errors.resourceMissing('topic', 'key');
    return topic;
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const topic = await withTransaction(pool, async (client) => {
        const created = await createTopic(client, tenantOf(c), c.req.valid('json'));
        await recordAuditInTransaction(client, c, { resourceId: created.key, status: 201 });
        return created;
      });
      return c.json(serializeTopic(topic), 201);
    })
    .openapi(routes.get, async (c) => c.json(serializeTopic(await requireTopic(tenantOf(c), c.req.valid('param').key)), 200))
    .openapi(routes.subscribe, async (c) => {
      const tenantId = tenantOf(c);
      const { key } = c.req.valid('param');
      const added = await withTransaction(pool, async (client) => {
        const n = await subscribe(client, tenantId, key, c.req.valid('json').user_ids);
        await recordAuditInTransaction(client, c, { resourceId: key, status: 200 });
        return n;
      });
      return c.json({ ...serializeTopic(await requireTopic(tenantId, key)), added }, 200);
    })
    .openapi(routes.subscribers, async (c) => {
      const tenantId = tenantOf(c);
      const { key } = c.req.valid('param');
      await requireTopic(tenantId, key);
      const q = c.req.valid('query');
      const page = await listSubscribers(pool, tenantId, key, { limit: q.limit, startingAfter: q.starting_after });
      return c.json({
        ...page,
        data: page.data.map((s) => ({ object: 'topic_subscription' as const, topic_key: key, user_id: s.userId, created_at: s.createdAt.toISOString() })),
      }, 200);
    })
    .openapi(routes.unsubscribe, async (c) => {
      const { key, user_id: userId } = c.req.valid('param');
      const removed = await withTransaction(pool, async (client) => {
        const done = await unsubscribe(client, tenantOf(c), key, userId);
        if (done) await recordAuditInTransaction(client, c, { resourceId: key, status: 200 });
        return done;
      });
      if (!removed) throw errors.resourceMissing('topic subscription', 'user_id');
      return c.json({ object: 'topic_subscription' as const, topic_key: key, user_id: userId, deleted: true }, 200);
    });
}
