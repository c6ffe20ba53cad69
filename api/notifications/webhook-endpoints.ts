import { createRoute } from '@hono/zod-openapi';
import { listEndpointDeliveries } from '../../store/notifications/deliveries.js';
import { createWebhookEndpoint, getWebhookEndpoint, listWebhookEndpoints } from '../../store/notifications/webhook-endpoints.js';
import { errors } from '../errors.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { CreateWebhookEndpoint, DeliveryBody, WebhookEndpointBody, WebhookEndpointCreatedBody } from './schemas.js';

const tags = ['Webhooks'];
const routes = {
  create: createRoute({
    method: 'post', path: '/', tags, summary: 'Register a URL for events (the signing secret is shown only in this answer)',
    description: 'Each event is POSTed with `Steadfast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. '
      + '`events`: known event types, or `["*"]` for all. http URLs are accepted (local development); use https in production.',
    request: { body: jsonBody(CreateWebhookEndpoint), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The endpoint with its secret', WebhookEndpointCreatedBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags, summary: 'Webhook endpoints, newest first', request: { query: ListQuery },
    responses: { 200: jsonResponse('Endpoints', listOf(WebhookEndpointBody)), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags, summary: 'A webhook endpoint (without its secret)', request: { params: IdParam },
    responses: { 200: jsonResponse('The endpoint', WebhookEndpointBody), ...commonErrors },
  }),
  deliveries: createRoute({
    method: 'get', path: '/{id}/deliveries', tags, summary: 'What was sent to an endpoint and how it ended, newest first',
    request: { params: IdParam, query: ListQuery },
    responses: { 200: jsonResponse('Deliveries', listOf(DeliveryBody)), ...commonErrors },
  }),
};

/** `/v1/webhook-endpoints` */
export function webhookEndpointRoutes({ pool }: AppDeps) {
  const requireEndpoint = async (tenantId: string, id: string) => {
    const endpoint = await getWebhookEndpoint(pool, tenantId, id);
    if (!endpoint) throw errors.resourceMissing('webhook endpoint', 'id');
    return endpoint;
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const body = c.req.valid('json');
      return c.json(await createWebhookEndpoint(pool, { tenantId: tenantOf(c), url: body.url, events: body.events }), 201);
    })
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await listWebhookEndpoints(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after }), 200);
    })
    .openapi(routes.get, async (c) => c.json(await requireEndpoint(tenantOf(c), c.req.valid('param').id), 200))
    .openapi(routes.deliveries, async (c) => {
      const endpoint = await requireEndpoint(tenantOf(c), c.req.valid('param').id);
      const q = c.req.valid('query');
      return c.json(await listEndpointDeliveries(pool, tenantOf(c), endpoint.id, { limit: q.limit, startingAfter: q.starting_after }), 200);
    });
}
