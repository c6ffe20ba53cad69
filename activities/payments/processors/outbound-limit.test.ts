import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openLimiterConnection } from '../../../platform/rate-limit/from-config.js';
import { createOutboundLimiter } from '../../../platform/rate-limit/outbound.js';
import { policiesSchema } from '../../../platform/rate-limit/policy.js';
import { createHttpProcessorAdapter } from './http-adapter.js';
import { withOutboundLimit } from './outbound-limit.js';

const redis = openLimiterConnection(inject('redisUrl'), undefined as Redis | undefined);
const prefix = `test-processors-${randomUUID()}`;
const outbound = createOutboundLimiter({
  redis,
  policies: policiesSchema.parse({ acq_primary: { algorithm: 'gcra', rate: 10, period: '1s' } }),
  maxWaitMs: 5_000,
  keyPrefix: prefix,
});

// The limiter's connection is up before the first call (else that call fails open and says so on stderr).
beforeAll(() => new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve()))));

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await outbound.close();
});

describe('processor calls under an outbound limit', () => {
  it('spaces the calls to the simulated acquirer at its limit (10/s), each answered', async () => {
    const adapter = withOutboundLimit(
      createHttpProcessorAdapter({ baseUrl: inject('processorsUrl'), processor: 'acq_primary', timeoutMs: 2_000 }), outbound,
    );
    const started = Date.now();
    const authorizations = await Promise.all(Array.from({ length: 6 }, () => adapter.authorize({
      idempotencyKey: `outbound-${randomUUID()}`, method: 'card', token: 'tok_visa', amountMinor: 100, currency: 'USD',
    })));
    expect(authorizations.every((a) => a.processor === 'acq_primary' && a.id)).toBe(true);
    // Six calls at one per 100 ms: the sixth starts 500 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(480);
  });
});
