import { lookup } from 'node:dns/promises';
import { createRoute, z } from '@hono/zod-openapi';
import {
  checkResolvedAddresses, checkWebhookUrl, type WebhookAddressPolicy,
} from '../../domain/notifications/address-policy.js';
import { secretBoxOf, webhookAddressPolicyOf } from '../../platform/config-security.js';
import { listEndpointDeliveries } from '../../store/notifications/deliveries.js';
import {
  createWebhookEndpoint, deleteWebhookEndpoint, getWebhookEndpoint, listWebhookEndpoints, rotateWebhookSecret,
} from '../../store/notifications/webhook-endpoints.js';
import { errors } from '../errors.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { parseDurationMs } from '../ops/workflow-ops.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { CreateWebhookEndpoint, DeliveryBody, WebhookEndpointBody, WebhookEndpointCreatedBody } from './schemas.js';

/** Default and longest time a replaced secret keeps signing after a rotation. */
const GRACE_DEFAULT = '24h';
const GRACE_MAX_MS = 30 * 86_400_000;
/** How long creation waits for DNS before accepting the name (the delivery checks every connection anyway). */
const DNS_CHECK_TIMEOUT_MS = 2_000;

const RotateSecret = z
  .strictObject({
    grace: z.string().max(20).optional().openapi({
      description: `How long the replaced secret keeps signing (a second \`v1=\`): a duration like \`0s\` (stops at once), \`90s\`, \`15m\`, \`24h\`, \`7d\`; at most 30d. Default ${GRACE_DEFAULT}.`,
      example: '24h',
    }),
  })
  .openapi('RotateWebhookSecret');
const RotatedSecretBody = z
  .object({
    id: z.string(), object: z.literal('webhook_endpoint'),
    secret: z.string().openapi({ description: 'The new signing secret; shown only here.' }),
  })
  .openapi('WebhookEndpointSecret');
const DeletedWebhookEndpointBody = WebhookEndpointBody
  .extend({ deleted: z.literal(true), status: z.literal('disabled') })
  .openapi('DeletedWebhookEndpoint');

const POLICY = 'URLs must be `https` (plain `http` only when the server runs with `WEBHOOK_ALLOW_HTTP`); a host that is or '
  + 'resolves to a loopback, private, link-local, unique-local, shared (CGNAT), multicast, reserved or cloud metadata address '
  + 'is refused with `400 parameter_invalid` (param `url`), unless its `host:port` is in the server\'s `WEBHOOK_PRIVATE_ALLOWLIST`. '
  + 'Every delivery checks the addresses again when it connects (a name that now resolves privately gets no request).';

const tags = ['Webhooks'];
const routes = {
  create: createRoute({
    method: 'post', path: '/', tags, summary: 'Register a URL for events (the signing secret is shown only in this answer)',
    description: 'Each event is POSTed with `Steadfast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. '
      + `\`events\`: known event types, or \`["*"]\` for all. ${POLICY} A tenant has at most \`WEBHOOK_ENDPOINTS_MAX_PER_TENANT\` `
      + 'endpoints (default 16; deleted ones do not count): one more is `409 resource_limit_reached`.',
    request: { body: jsonBody(CreateWebhookEndpoint), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The endpoint with its secret', WebhookEndpointCreatedBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags, summary: 'Webhook endpoints, newest first (deleted ones are not listed)', request: { query: ListQuery },
    responses: { 200: jsonResponse('Endpoints', listOf(WebhookEndpointBody)), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags, summary: 'A webhook endpoint (without its secret)', request: { params: IdParam },
    responses: { 200: jsonResponse('The endpoint', WebhookEndpointBody), ...commonErrors },
  }),
  rotate: createRoute({
    method: 'post', path: '/{id}/rotate-secret', tags, summary: 'Replace the signing secret (the new one is shown only in this answer)',
    description: 'During the grace (default 24h) every delivery carries two `v1=` signatures, one with the old secret and one with '
      + 'the new, so receivers can switch at their pace; afterwards only the new one signs. Rotating again during a grace ends '
      + 'the older secret at once (at most two secrets sign).',
    request: { params: IdParam, body: jsonBody(RotateSecret), headers: idempotencyHeader },
    responses: { 200: jsonResponse('The endpoint id and its new secret', RotatedSecretBody), ...commonErrors },
  }),
  delete: createRoute({
    method: 'delete', path: '/{id}', tags, summary: 'Delete a webhook endpoint',
    description: 'Nothing is sent to it afterwards: its queued deliveries (retries included) are cancelled, its secrets erased. '
      + 'It is no longer listed nor readable (`404`).',
    request: { params: IdParam },
    responses: { 200: jsonResponse('The deleted endpoint', DeletedWebhookEndpointBody), ...commonErrors },
  }),
  deliveries: createRoute({
    method: 'get', path: '/{id}/deliveries', tags, summary: 'What was sent to an endpoint and how it ended, newest first',
    request: { params: IdParam, query: ListQuery },
    responses: { 200: jsonResponse('Deliveries', listOf(DeliveryBody)), ...commonErrors },
  }),
};

/** `/v1/webhook-endpoints` */
export function webhookEndpointRoutes({ pool, config }: AppDeps) {
  const policy = webhookAddressPolicyOf(config);
  const sealer = secretBoxOf(config);
  const requireEndpoint = async (tenantId: string, id: string) => {
    const endpoint = await getWebhookEndpoint(pool, tenantId, id);
    if (!endpoint) throw errors.resourceMissing('webhook endpoint', 'id');
    return endpoint;
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const body = c.req.valid('json');
      await checkEndpointUrl(body.url, policy);
      const created = await createWebhookEndpoint(pool, {
        tenantId: tenantOf(c), url: body.url, events: body.events, sealer, maxPerTenant: config.WEBHOOK_ENDPOINTS_MAX_PER_TENANT,
      });
      if (created === 'limit_reached') {
        throw errors.resourceLimitReached(
          `A tenant has at most ${config.WEBHOOK_ENDPOINTS_MAX_PER_TENANT} webhook endpoints: delete one to add another.`,
        );
      }
      return c.json(created, 201);
    })
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await listWebhookEndpoints(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after }), 200);
    })
    .openapi(routes.get, async (c) => c.json(await requireEndpoint(tenantOf(c), c.req.valid('param').id), 200))
    .openapi(routes.rotate, async (c) => {
      const grace = c.req.valid('json').grace ?? GRACE_DEFAULT;
      const graceMs = parseDurationMs(grace);
      if (graceMs === null || graceMs > GRACE_MAX_MS) {
        throw errors.parameterInvalid('grace', 'grace must be a duration like 0s, 90s, 15m, 24h or 7d, at most 30d.');
      }
      const rotated = await rotateWebhookSecret(pool, { tenantId: tenantOf(c), id: c.req.valid('param').id, graceMs, sealer });
      if (!rotated) throw errors.resourceMissing('webhook endpoint', 'id');
      return c.json(rotated, 200);
    })
    .openapi(routes.delete, async (c) => {
      const deleted = await deleteWebhookEndpoint(pool, tenantOf(c), c.req.valid('param').id);
      if (!deleted) throw errors.resourceMissing('webhook endpoint', 'id');
      return c.json({ ...deleted, status: 'disabled' as const, deleted: true as const }, 200);
    })
    .openapi(routes.deliveries, async (c) => {
      const endpoint = await requireEndpoint(tenantOf(c), c.req.valid('param').id);
      const q = c.req.valid('query');
      return c.json(await listEndpointDeliveries(pool, tenantOf(c), endpoint.id, { limit: q.limit, startingAfter: q.starting_after }), 200);
    });
}

/**
 * The SSRF policy at creation: the URL itself, then every address its host resolves to now. A
 * name that does not resolve (yet), or not within DNS_CHECK_TIMEOUT_MS, is accepted: each
 * delivery checks the addresses again when it connects.
 */
async function checkEndpointUrl(url: string, policy: WebhookAddressPolicy): Promise<void> {
  const verdict = checkWebhookUrl(url, policy);
  if (!verdict.ok) throw errors.parameterInvalid('url', `This URL cannot receive webhooks: ${verdict.reason}.`);
  if (verdict.allowlisted || verdict.literal) return;
  const check = checkResolvedAddresses(await resolveOrNothing(verdict.hostname));
  if (!check.ok) throw errors.parameterInvalid('url', `This URL cannot receive webhooks: ${check.reason}.`);
}

async function resolveOrNothing(hostname: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<[]>((resolve) => {
    timer = setTimeout(() => resolve([]), DNS_CHECK_TIMEOUT_MS);
  });
  try {
    const resolved = lookup(hostname, { all: true, verbatim: true }).then((all) => all.map((a) => a.address), () => []);
    return await Promise.race([resolved, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
