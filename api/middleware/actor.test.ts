import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Call, type Harness } from '../../test/harness.js';
import type { AppEnv } from '../context.js';
import { secretBoxOf } from '../../platform/config-security.js';
import { newSealingKey, parseSealingKeys } from '../../platform/secrets.js';
import { resealActorSigningSecrets } from '../../store/security/actor-signing-keys.js';
import { mintActorToken, requireActor, verifyActorToken } from './actor.js';
import { onError } from './errors.js';

/**
 * `Steadfast-Actor` (contract §0): the signing keys' endpoints, secrets at rest, and every way a
 * token is refused. A small app sets the tenant (as `authenticate` would) and answers the actor
 * that `requireActor` found.
 */

let h: Harness;
let probe: Hono<AppEnv>;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  probe = new Hono<AppEnv>();
  probe.onError(onError);
  probe.use('*', async (c, next) => {
    const tenantId = c.req.header('x-tenant')!;
    c.set('auth', tenantId === 'admin' ? { kind: 'admin', scope: 'admin' } : { kind: 'tenant', scope: tenantId, tenantId, apiKeyId: 'key_test' });
    await next();
  });
  probe.get('/actor', requireActor({ pool: h.pool, config: h.config }), (c) => c.json(c.get('actor')));
});
afterAll(async () => {
  await h?.close();
});

async function actorFor(tenantId: string, token?: string) {
  const res = await probe.request('/actor', { headers: { 'x-tenant': tenantId, ...(token === undefined ? {} : { 'steadfast-actor': token }) } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function signingKey(call: Call): Promise<{ keyId: string; secret: string }> {
  const res = await call('POST', '/v1/actor-signing-keys');
  expect(res.status).toBe(201);
  return { keyId: res.body.id, secret: res.body.secret };
}

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token with any header and claims, HS256-signed unless `alg` says otherwise. */
function sign(key: { keyId: string; secret: string }, claims: Record<string, unknown>, alg = 'HS256') {
  return new SignJWT(claims).setProtectedHeader({ alg, kid: key.keyId }).sign(new TextEncoder().encode(key.secret));
}

describe('actor signing keys', () => {
  it('created with the secret shown once and stored sealed; listed without it; deleted: gone at once', async () => {
    const tenant = await h.newTenant();
    const res = await tenant.call('POST', '/v1/actor-signing-keys');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: 'actor_signing_key', secret: expect.stringMatching(/^asksec_[A-Za-z0-9_-]{43}$/) });
    expect(res.body.id).toMatch(/^ask_[0-9A-Z]{26}$/);
    const secret = res.body.secret as string;

    const { rows } = await h.pool.query('SELECT * FROM actor_signing_keys WHERE id = $1', [res.body.id]);
    expect(rows[0].secret_sealed).toMatch(/^v1\./);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(JSON.stringify(rows)).not.toContain(secret.slice(7));

    const list = await tenant.call('GET', '/v1/actor-signing-keys');
    expect(list.body).toEqual({ object: 'list', has_more: false, data: [{ id: res.body.id, object: 'actor_signing_key', created_at: res.body.created_at }] });
    const other = await h.newTenant();
    expect((await other.call('GET', '/v1/actor-signing-keys')).body.data).toEqual([]);
    expect((await other.call('DELETE', `/v1/actor-signing-keys/${res.body.id}`)).status).toBe(404);

    const deleted = await tenant.call('DELETE', `/v1/actor-signing-keys/${res.body.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id: res.body.id, object: 'actor_signing_key', deleted: true });
    expect((await tenant.call('DELETE', `/v1/actor-signing-keys/${res.body.id}`)).status).toBe(404);
    expect((await tenant.call('GET', '/v1/actor-signing-keys')).body.data).toEqual([]);
    expect((await h.pool.query('SELECT secret_sealed FROM actor_signing_keys WHERE id = $1', [res.body.id])).rows[0].secret_sealed).toBeNull();
  });

  it('the admin key cannot create them (tenant routes); a tenant key can', async () => {
    expect((await h.admin('POST', '/v1/actor-signing-keys')).status).toBe(403);
  });
});

describe('Steadfast-Actor verification', () => {
  it('a valid token names the actor and its key; the admin key acts as admin without one', async () => {
    const tenant = await h.newTenant();
    const key = await signingKey(tenant.call);
    const ok = await actorFor(tenant.id, await mintActorToken({ ...key, sub: 'emp_ada' }));
    expect(ok).toEqual({ status: 200, body: { sub: 'emp_ada', keyId: key.keyId } });
    expect(await actorFor('admin')).toEqual({ status: 200, body: { sub: 'admin' } });
    // Within the documented clock tolerance (30 s): expired 10 s ago still passes.
    expect((await actorFor(tenant.id, await sign(key, { sub: 'emp_ada', iat: now() - 300, exp: now() - 10 }))).status).toBe(200);
  });

  it('missing: 401 actor_missing', async () => {
    const tenant = await h.newTenant();
    for (const token of [undefined, '', '   ']) {
      const res = await actorFor(tenant.id, token);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'actor_missing' });
    }
  });

  it('wrong secret, unknown kid, another tenant’s key, expired, alg none or HS512, exp over 10 min after iat, malformed: 401 actor_invalid', async () => {
    const tenant = await h.newTenant();
    const key = await signingKey(tenant.call);
    const otherKey = await signingKey((await h.newTenant()).call);
    const t = now();
    const valid = { sub: 'emp_ada', iat: t, exp: t + 60 };
    const cases: Record<string, string> = {
      'wrong secret': await sign({ keyId: key.keyId, secret: 'asksec_not_the_secret' }, valid),
      'unknown kid': await sign({ keyId: 'ask_01JD3M5Q9W1V8X7Y6Z5A4B3C2D', secret: key.secret }, valid),
      'no kid': await new SignJWT(valid).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(key.secret)),
      'another tenant’s key': await sign(otherKey, valid),
      expired: await sign(key, { sub: 'emp_ada', iat: t - 600, exp: t - 60 }),
      'alg none': `${b64({ alg: 'none', kid: key.keyId })}.${b64(valid)}.`,
      'alg HS512': await sign(key, valid, 'HS512'),
      'exp 11 min after iat': await sign(key, { sub: 'emp_ada', iat: t, exp: t + 660 }),
      'iat in the future': await sign(key, { sub: 'emp_ada', iat: t + 120, exp: t + 180 }),
      'no exp': await sign(key, { sub: 'emp_ada', iat: t }),
      'no iat': await sign(key, { sub: 'emp_ada', exp: t + 60 }),
      'no sub': await sign(key, { iat: t, exp: t + 60 }),
      'numeric sub': await sign(key, { sub: 42, iat: t, exp: t + 60 }),
      malformed: 'not.a.jwt',
      'too long': `${'a'.repeat(3000)}.b.c`,
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await actorFor(tenant.id, token);
      expect({ name, status: res.status, error: res.body.error }).toMatchObject({
        name, status: 401, error: { type: 'authentication_error', code: 'actor_invalid' },
      });
    }
    // The same key still verifies a good token: the refusals were about the tokens.
    expect((await actorFor(tenant.id, await sign(key, valid))).status).toBe(200);
  });

  it('a deleted signing key stops verifying at once: 401 actor_invalid', async () => {
    const tenant = await h.newTenant();
    const key = await signingKey(tenant.call);
    const token = await mintActorToken({ ...key, sub: 'emp_ada' });
    expect((await actorFor(tenant.id, token)).status).toBe(200);
    expect((await tenant.call('DELETE', `/v1/actor-signing-keys/${key.keyId}`)).status).toBe(200);
    const res = await actorFor(tenant.id, token);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('actor_invalid');
  });
});

describe('sealing key rotation', () => {
  it('re-sealing moves live secrets to the new sealing key; tokens keep verifying', async () => {
    const tenant = await h.newTenant();
    const key = await signingKey(tenant.call);
    // A new sealing key first (it seals), the old one after it (it still opens).
    const rotated = { SECRETS_ENCRYPTION_KEYS: [...parseSealingKeys(newSealingKey('next')), ...h.config.SECRETS_ENCRYPTION_KEYS] };
    const box = secretBoxOf(rotated);
    // Only this test's key: other test files share the database (and verify with the usual keys).
    const resealed = await resealActorSigningSecrets(h.pool, (sealed, id) => (id === key.keyId && box.isStale(sealed) ? box.seal(box.open(sealed)) : null));
    expect(resealed).toBe(1);
    const { rows } = await h.pool.query('SELECT secret_sealed FROM actor_signing_keys WHERE id = $1', [key.keyId]);
    expect(rows[0].secret_sealed).toMatch(/^v1\.next\./);
    const token = await mintActorToken({ ...key, sub: 'emp_ada' });
    expect(await verifyActorToken({ pool: h.pool, config: rotated }, tenant.id, token)).toEqual({ sub: 'emp_ada', keyId: key.keyId });
  });
});

describe('OpenAPI', () => {
  it('documents the key endpoints and the Steadfast-Actor header of leave decisions', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as Record<string, any>;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/v1/actor-signing-keys', '/v1/actor-signing-keys/{id}', '/v1/admin/tenants/{id}/api-keys', '/v1/admin/tenants/{id}/api-keys/{key_id}',
    ]));
    expect(Object.keys(doc.paths['/v1/admin/tenants/{id}/api-keys/{key_id}'])).toEqual(['delete']);
    for (const action of ['approve', 'reject', 'cancel']) {
      const parameters = doc.paths[`/v1/leave-requests/{id}/${action}`].post.parameters as { name: string; in: string }[];
      expect(parameters).toContainEqual(expect.objectContaining({ name: 'steadfast-actor', in: 'header' }));
    }
  });
});
