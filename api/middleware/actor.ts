import type { MiddlewareHandler } from 'hono';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type pg from 'pg';
import { z } from '@hono/zod-openapi';
import { secretBoxOf } from '../../platform/config-security.js';
import type { SealingKey } from '../../platform/secrets.js';
import { findActorSigningSecret } from '../../store/security/actor-signing-keys.js';
import type { Actor, AppEnv } from '../context.js';
import { errors } from '../errors.js';

/** Contract §0: `exp` at most this long after `iat`. */
export const ACTOR_TOKEN_LIFETIME_MAX_S = 600;
/**
 * Clock skew allowed between the signer and this server, on `exp` (an expired token still passes
 * for this long) and on `iat` (a token may be issued this far in the future).
 */
export const ACTOR_CLOCK_TOLERANCE_S = 30;
/** A compact HS256 JWT with a short `sub` is a few hundred characters; anything far longer is not one of ours. */
const TOKEN_LENGTH_MAX = 2_048;
const KID = /^ask_[0-9A-Z]{26}$/;
const SUB_LENGTH_MAX = 100;

/** The header's schema, for the OpenAPI document of the routes that need an actor. */
export const actorHeader = z.object({
  'steadfast-actor': z.string().optional().openapi({
    param: { name: 'steadfast-actor', in: 'header' },
    description: 'The acting user: a JWT (HS256) signed with one of the tenant’s actor signing secrets (`kid` = its `ask_…` id), '
      + `claims \`sub\`, \`iat\`, \`exp\` (at most ${ACTOR_TOKEN_LIFETIME_MAX_S / 60} minutes after \`iat\`). Required for a tenant key.`,
  }),
});

class UnknownKey extends Error {}

/**
 * Verifies a `Steadfast-Actor` token for `tenantId`: HS256 only, `kid` naming one of the tenant's
 * live signing keys (one indexed lookup, never cached: a deleted key stops verifying at once),
 * `sub`, `iat` and `exp` present, `exp` at most 10 minutes after `iat`, neither expired nor issued
 * in the future beyond the clock tolerance. Anything else is `401 actor_invalid`; a database or
 * sealing failure propagates (a 500, not the client's fault).
 */
export async function verifyActorToken(
  deps: { pool: pg.Pool; config: { SECRETS_ENCRYPTION_KEYS: readonly SealingKey[] } },
  tenantId: string,
  token: string,
): Promise<Actor> {
  if (token.length > TOKEN_LENGTH_MAX) throw errors.actorInvalid();
  let payload: JWTPayload;
  let keyId: string;
  try {
    ({ payload, protectedHeader: { kid: keyId = '' } } = await jwtVerify(token, async (header) => {
      // jose has already refused any alg but HS256 (and `none`) before asking for the key.
      if (typeof header.kid !== 'string' || !KID.test(header.kid)) throw new UnknownKey();
      const sealed = await findActorSigningSecret(deps.pool, tenantId, header.kid);
      if (!sealed) throw new UnknownKey();
      return new TextEncoder().encode(secretBoxOf(deps.config).open(sealed));
    }, {
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'iat', 'exp'],
      maxTokenAge: ACTOR_TOKEN_LIFETIME_MAX_S,
      clockTolerance: ACTOR_CLOCK_TOLERANCE_S,
    }));
  } catch (err) {
    if (err instanceof UnknownKey || err instanceof joseErrors.JOSEError) throw errors.actorInvalid();
    throw err;
  }
  const { sub, iat, exp } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > SUB_LENGTH_MAX) throw errors.actorInvalid();
  if (iat === undefined || exp === undefined || exp - iat > ACTOR_TOKEN_LIFETIME_MAX_S) throw errors.actorInvalid();
  return { sub, keyId };
}

/**
 * Requires the acting user (contract §0) on a route that records a person's decision: a tenant
 * key must send `Steadfast-Actor: <JWT>` (missing: `401 actor_missing`; anything wrong with it:
 * `401 actor_invalid`); the admin key acts as `admin` and needs none. Sets `c.get('actor')`.
 *
 * @example createRoute({ …, middleware: [requireActor({ pool, config })] })
 */
export function requireActor(
  deps: { pool: pg.Pool; config: { SECRETS_ENCRYPTION_KEYS: readonly SealingKey[] } },
): MiddlewareHandler<AppEnv> {
  return async function requireActingUser(c, next) {
    const auth = c.get('auth');
    if (auth.kind === 'admin') {
      c.set('actor', { sub: 'admin' });
      return next();
    }
    const token = c.req.header('steadfast-actor')?.trim();
    if (!token) throw errors.actorMissing();
    c.set('actor', await verifyActorToken(deps, auth.tenantId, token));
    return next();
  };
}

/** The actor a `requireActor` route runs with (a bug when the middleware is missing). */
export function actorOf(c: { get(key: 'actor'): Actor | undefined }): Actor {
  const actor = c.get('actor');
  if (!actor) throw new Error('actorOf called on a route without requireActor');
  return actor;
}

/**
 * Mints a `Steadfast-Actor` token (what a tenant's own backend does; here for scripts and tests):
 * HS256, `kid` = the signing key's id, `sub`, `iat` now, `exp` `ttlSeconds` later (at most 10 minutes).
 *
 * @example const token = await mintActorToken({ keyId: 'ask_…', secret, sub: 'emp_…' })
 */
export async function mintActorToken(input: { keyId: string; secret: string; sub: string; ttlSeconds?: number }): Promise<string> {
  const ttlSeconds = input.ttlSeconds ?? ACTOR_TOKEN_LIFETIME_MAX_S;
  if (ttlSeconds <= 0 || ttlSeconds > ACTOR_TOKEN_LIFETIME_MAX_S) throw new RangeError(`ttlSeconds must be 1..${ACTOR_TOKEN_LIFETIME_MAX_S}`);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', kid: input.keyId, typ: 'JWT' })
    .setSubject(input.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(input.secret));
}
