import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errors } from '../errors.js';
import type { AppEnv } from '../context.js';

export const BODY_LIMIT_BYTES = 64 * 1024;
const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Bodies are JSON objects of at most 64 KiB: over the limit → 413, another content type → 415,
 * unparsable → 400 `invalid_json`. A POST without any body (e.g. `/cancel`) is allowed and reads
 * as `{}`. The raw text stays cached on the request for the idempotency fingerprint.
 */
export function jsonBody(): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({ maxSize: BODY_LIMIT_BYTES, onError: () => { throw errors.bodyTooLarge(); } });
  return async function requireJsonBody(c, next) {
    if (!WITH_BODY.has(c.req.method)) return next();
    return limit(c, async () => {
      const contentType = c.req.header('content-type');
      const text = await c.req.text();
      if (!contentType) {
        if (text.length > 0) throw errors.unsupportedMediaType();
        return next();
      }
      if (!JSON_TYPE.test(contentType)) throw errors.unsupportedMediaType();
      try {
        JSON.parse(text);
      } catch {
        throw errors.invalidJson();
      }
      await next();
    });
  };
}
