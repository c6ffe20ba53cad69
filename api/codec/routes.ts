import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type pg from 'pg';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import type { SealingKey } from '../../platform/secrets.js';
import { payloadCodecOf } from '../../platform/payload-codec.js';
import { findTenantIdByApiKeyHash } from '../../store/tenants/tenants.js';
import type { AppEnv } from '../context.js';
import { errors } from '../errors.js';
import { hashApiKey } from '../middleware/auth.js';

/**
 * The codec server of the Temporal UI and CLI (issue #13; Temporal's remote codec protocol):
 * `POST /codec/decode` and `POST /codec/encode` take `{ payloads: [{ metadata: { k: base64 },
 * data: base64 }] }` (proto3 JSON) and answer the same shape, run through the payload codec
 * (platform/payload-codec.ts) with the keys of TEMPORAL_PAYLOAD_KEYS. Not under /v1: no tenant, no
 * audit row, no idempotency; the admin key's rate limit and the bad-key limit per IP apply.
 *
 * Authentication: `Authorization: Bearer <admin key>` (the CLI's `--codec-auth`, a proxy in front
 * of the UI, or the UI's forwarded access token when it is the admin key). In development only
 * (NODE_ENV=development, what `npm start` runs), a request from one of TEMPORAL_UI_ORIGINS needs
 * no key, when the API listens on a loopback address (HOST): the local dev UI cannot attach one.
 * Production always requires the admin key.
 * Browsers call it cross-origin: CORS for TEMPORAL_UI_ORIGINS only (the UI sends `X-Namespace`,
 * `Content-Type`, and with "pass access token" `Authorization`).
 */

const BEARER = /^Bearer ([\x21-\x7e]{1,200})$/;
const MAX_PAYLOADS = 1_000;
const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1']);
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const Base64 = z.string().max(MAX_BODY_BYTES).regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const CodecBody = z.object({
  payloads: z.array(z.object({
    metadata: z.record(z.string().max(200), Base64).optional(),
    data: Base64.optional(),
  })).max(MAX_PAYLOADS),
});
type JsonPayload = z.infer<typeof CodecBody>['payloads'][number];

export interface CodecDeps {
  config: {
    NODE_ENV: 'development' | 'test' | 'production';
    HOST: string;
    TEMPORAL_UI_ORIGINS: readonly string[];
    TEMPORAL_PAYLOAD_KEYS: readonly SealingKey[];
  };
  adminApiKey: string;
  pool: pg.Pool;
}

/** CORS for the Temporal UI's origins (mounted before the limiters, so a 401 or 429 is readable too). */
export function codecCors(config: CodecDeps['config']): MiddlewareHandler<AppEnv> {
  return cors({
    origin: [...config.TEMPORAL_UI_ORIGINS],
    allowMethods: ['POST', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'X-Namespace', 'Authorization'],
    credentials: true,
    maxAge: 600,
  });
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

export function codecRoutes(deps: CodecDeps): Hono<AppEnv> {
  const adminDigest = Buffer.from(hashApiKey(deps.adminApiKey), 'hex');
  const codec = payloadCodecOf(deps.config);
  // `Origin` is a browser's word only: trusted without a key on a development machine's loopback API only.
  const keyless = deps.config.NODE_ENV === 'development' && LOOPBACK.has(deps.config.HOST);
  const devOrigins = new Set(keyless ? deps.config.TEMPORAL_UI_ORIGINS : []);

  const authorize: MiddlewareHandler<AppEnv> = async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) {
      if (devOrigins.has(c.req.header('origin') ?? '')) return next();
      throw errors.apiKeyMissing();
    }
    const key = BEARER.exec(header)?.[1];
    if (!key) throw errors.apiKeyInvalid();
    const digest = hashApiKey(key);
    if (!timingSafeEqual(Buffer.from(digest, 'hex'), adminDigest)) {
      throw (await findTenantIdByApiKeyHash(deps.pool, digest)) ? errors.forbidden() : errors.apiKeyInvalid();
    }
    return next();
  };

  const handle = (op: 'encode' | 'decode') => async (c: Context<AppEnv>) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw errors.parameterInvalid('payloads', 'The body must be JSON: {"payloads": [...]}.');
    }
    const parsed = CodecBody.safeParse(raw);
    if (!parsed.success) throw errors.parameterInvalid('payloads', `The body must be {"payloads": [{"metadata": {…}, "data": base64}]} (at most ${MAX_PAYLOADS}).`);
    let out: Payload[];
    try {
      out = await codec[op](parsed.data.payloads.map(fromJson));
    } catch {
      // An unknown key id or a tampered payload: which one is not said (no oracle).
      throw errors.parameterInvalid('payloads', `A payload could not be ${op}d with the configured keys.`);
    }
    return c.json({ payloads: out.map(toJson) }, 200);
  };

  return new Hono<AppEnv>()
    .use('*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw errors.parameterInvalid('payloads', 'The body is too large.'); } }))
    .use('*', authorize)
    .post('/decode', handle('decode'))
    .post('/encode', handle('encode'));
}
