import type { OutboundLimiter } from '../../../platform/rate-limit/outbound.js';
import type { ProcessorAdapter } from './types.js';

/**
 * Caps the calls to one processor (OUTBOUND_RATE_LIMITS, keyed by the processor's name) across
 * every worker. A call waits for its slot up to the configured bound; past it, `OutboundRateLimited`
 * is thrown before anything reached the processor: not a breaker failure and not a failover
 * (the router only handles processor errors), but a retryable activity failure — the step runs
 * again later with the same idempotency key.
 */
export function withOutboundLimit(adapter: ProcessorAdapter, outbound: OutboundLimiter): ProcessorAdapter {
  async function limited<T>(call: () => Promise<T>): Promise<T> {
    await outbound.acquire(adapter.processor);
    return call();
  }
  return {
    processor: adapter.processor,
    authorize: (request) => limited(() => adapter.authorize(request)),
    capture: (request) => limited(() => adapter.capture(request)),
    void: (request) => limited(() => adapter.void(request)),
    refund: (request) => limited(() => adapter.refund(request)),
    lookup: (kind, key) => limited(() => adapter.lookup(kind, key)),
  };
}
