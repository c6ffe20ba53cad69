import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { newId } from '../../domain/ids.js';
import { secretBoxOf } from '../../platform/config-security.js';
import {
  deleteActorSigningKey, insertActorSigningKey, listActorSigningKeys,
} from '../../store/security/actor-signing-keys.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { commonErrors, IdParam, idempotencyHeader, jsonResponse, ListQuery, listOf } from '../schemas.js';

/** 32 random bytes (a full-strength HS256 key), base64url; the HMAC key is this string's UTF-8 bytes. */
export function generateActorSigningSecret(): string {
  return `asksec_${randomBytes(32).toString('base64url')}`;
}

const SigningKeyBody = z
  .object({ id: z.string().openapi({ example: 'ask_01JD3M5Q9W1V8X7Y6Z5A4B3C2D' }), object: z.literal('actor_signing_key'), created_at: z.string() })
  .openapi('ActorSigningKey');
const SigningKeyCreatedBody = SigningKeyBody.extend({
  secret: z.string().nullable().openapi({
    description: 'Shown once (null in a replay). Sign actor JWTs with HS256, this string’s UTF-8 bytes as the key and `kid` = `id`.',
  }),
}).openapi('ActorSigningKeyCreated');
const SigningKeyDeletedBody = SigningKeyBody.extend({ deleted: z.literal(true) }).openapi('ActorSigningKeyDeleted');

const tags = ['Security'];
const routes = {
  create: createRoute({
    method: 'post', path: '/', tags, summary: 'Create an actor signing secret (shown once) for Steadfast-Actor JWTs',
    description: 'The tenant mints `Steadfast-Actor` JWTs with it: HS256, header `kid` = the key id, claims `sub`, `iat` and `exp` '
      + '(at most 10 minutes after `iat`). The secret is stored encrypted, never in clear.',
    request: { headers: idempotencyHeader },
    responses: { 201: jsonResponse('The key with its secret', SigningKeyCreatedBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags, summary: 'Actor signing keys that still verify, newest first (never their secrets)',
    request: { query: ListQuery },
    responses: { 200: jsonResponse('Keys', listOf(SigningKeyBody)), ...commonErrors },
  }),
  delete: createRoute({
    method: 'delete', path: '/{id}', tags, summary: 'Delete an actor signing key: tokens it signed stop verifying at once',
    request: { params: IdParam },
    responses: { 200: jsonResponse('The deleted key', SigningKeyDeletedBody), ...commonErrors },
  }),
};

/** `/v1/actor-signing-keys` (tenant key). */
export function actorSigningKeyRoutes({ pool, config }: AppDeps) {
  const box = secretBoxOf(config);
  return createRouter()
    .openapi(routes.create, async (c) => {
      const secret = generateActorSigningSecret();
      const key = await insertActorSigningKey(pool, { id: newId('actorSigningKey'), tenantId: tenantOf(c), secretSealed: box.seal(secret) });
      return c.json({ ...key, secret }, 201);
    })
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await listActorSigningKeys(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after }), 200);
    })
    .openapi(routes.delete, async (c) => {
      const deleted = await deleteActorSigningKey(pool, tenantOf(c), c.req.valid('param').id);
      if (!deleted) throw errors.resourceMissing('actor_signing_key', 'id');
      return c.json(deleted, 200);
    });
}
