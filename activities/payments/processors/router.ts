import type { ProcessorRoutes } from '../../../platform/config.js';
import { createBreakers, type BreakerOptions, type BreakerState } from './breakers.js';
import { ProcessorOutcomeUnknown, ProcessorRequestRejected, ProcessorUnavailable } from './errors.js';
import type {
  Authorization, AuthorizeRequest, Capture, CaptureRequest, OperationKind, OperationResults, PaymentMethodType,
  ProcessorAdapter, Refund, RefundRequest, Void, VoidRequest,
} from './types.js';

export interface ProcessorRouterOptions {
  adapters: readonly ProcessorAdapter[];
  /** Ordered processors per method and currency ('*' for any); config PROCESSOR_ROUTES. */
  routes: ProcessorRoutes;
  breaker: BreakerOptions;
}

export interface AuthorizeOptions {
  /**
   * Processors that an earlier attempt of this same authorization (same key) may have reached,
   * e.g. from the activity's heartbeat details, or the whole route on any retry. Their records are
   * read first, so a retried activity returns the earlier charge instead of making a second one
   * at another processor. A record that cannot be read throws `ProcessorOutcomeUnknown`.
   */
  previouslySentTo?: readonly string[];
  /** Called before a request leaves for a processor: the place to heartbeat where it went. */
  onSend?: (processor: string) => void;
}

export interface ProcessorRouter {
  /** Authorizes at the first processor of the route that can take it; `processor` says which. */
  authorize(request: AuthorizeRequest, options?: AuthorizeOptions): Promise<Authorization>;
  /** Capture, void and refund go to the processor that authorized: no failover. */
  capture(processor: string, request: CaptureRequest): Promise<Capture>;
  void(processor: string, request: VoidRequest): Promise<Void>;
  refund(processor: string, request: RefundRequest): Promise<Refund>;
  routeFor(method: PaymentMethodType, currency: string): readonly string[];
  /**
   * The authorization made with `idempotencyKey` at any processor of the route, or null when
   * none has it. A processor that cannot be asked throws `ProcessorOutcomeUnknown`.
   */
  findAuthorization(method: PaymentMethodType, currency: string, idempotencyKey: string): Promise<Authorization | null>;
  breakerStates(): Record<string, BreakerState>;
}

type Attempt<T> = { done: true; value: T } | { done: false; reason: string };

/** A request that got no answer and left no record is sent once more to the same processor. */
const SAME_KEY_RESENDS_MAX = 1;

/**
 * Routes payments over processors: fails over on `ProcessorUnavailable` (nothing happened) and
 * on an open circuit; resolves `ProcessorOutcomeUnknown` at the SAME processor by looking the
 * key up, because charging elsewhere could charge twice.
 */
export function createProcessorRouter(options: ProcessorRouterOptions): ProcessorRouter {
  const adapters = new Map(options.adapters.map((a) => [a.processor, a]));
  for (const [method, byCurrency] of Object.entries(options.routes)) {
    for (const processor of Object.values(byCurrency).flat()) {
      if (!adapters.has(processor)) throw new Error(`PROCESSOR_ROUTES: ${method} names unknown processor ${processor}`);
    }
  }
  const breakers = createBreakers([...adapters.keys()], options.breaker);

  function adapterOf(processor: string, kind: OperationKind): ProcessorAdapter {
    const adapter = adapters.get(processor);
    if (!adapter) throw new ProcessorRequestRejected(processor, kind, 'processor_unknown', `No adapter for ${processor}`);
    return adapter;
  }

  /** The record of `key` at `processor`, or null if it never arrived; unreadable → outcome unknown. */
  async function lookup<K extends OperationKind>(processor: string, kind: K, key: string, why: string) {
    try {
      return await adapterOf(processor, kind).lookup(kind, key);
    } catch (err) {
      if (!(err instanceof ProcessorUnavailable || err instanceof ProcessorOutcomeUnknown)) throw err;
      throw new ProcessorOutcomeUnknown(processor, kind, `${why}; looking up ${key} failed: ${err.message}`);
    }
  }

  async function attemptAt<K extends OperationKind>(
    processor: string, kind: K, key: string, call: () => Promise<OperationResults[K]>,
    onSend?: (processor: string) => void, resendsLeft = SAME_KEY_RESENDS_MAX,
  ): Promise<Attempt<OperationResults[K]>> {
    try {
      // Inside the guard: a processor whose breaker is open receives nothing, so it is not reported.
      const guarded = await breakers.guard(processor, () => {
        onSend?.(processor);
        return call();
      });
      return guarded.ok ? { done: true, value: guarded.value } : { done: false, reason: `${processor}: circuit open` };
    } catch (err) {
      if (err instanceof ProcessorUnavailable) return { done: false, reason: err.message };
      if (!(err instanceof ProcessorOutcomeUnknown)) throw err;
      const found = await lookup(processor, kind, key, err.message);
      if (found) return { done: true, value: found };
      // Not recorded (yet). Resend to the same processor first: if the lost request still lands
      // there later, the processor deduplicates it, where another processor would charge again.
      if (resendsLeft > 0) return attemptAt(processor, kind, key, call, onSend, resendsLeft - 1);
      // Still no answer and no record: the request may yet be in flight there (a slow processor
      // records it after we gave up — the chaos suite saw a second approved authorization when this
      // failed over). Never elsewhere: the activity retries later, and its retry looks the key up here
      // first (previouslySentTo).
      throw new ProcessorOutcomeUnknown(processor, kind, `${err.message}; no record of ${key} yet after a resend: it may still arrive, not sending it elsewhere`);
    }
  }

  function routeFor(method: PaymentMethodType, currency: string): readonly string[] {
    const route = options.routes[method][currency] ?? options.routes[method]['*'];
    if (!route) throw new ProcessorRequestRejected(null, 'authorize', 'processor_route_missing', `No processor route for ${method} in ${currency}`);
    return route;
  }

  async function followUp<K extends OperationKind>(
    processor: string, kind: K, key: string, call: (adapter: ProcessorAdapter) => Promise<OperationResults[K]>,
  ) {
    const adapter = adapterOf(processor, kind);
    const attempt = await attemptAt(processor, kind, key, () => call(adapter));
    if (attempt.done) return attempt.value;
    // The authorization lives at this processor only: wait for it (the activity retries), never move.
    throw new ProcessorUnavailable(processor, kind, attempt.reason);
  }

  return {
    async authorize(request, authorizeOptions = {}) {
      const key = request.idempotencyKey;
      for (const processor of authorizeOptions.previouslySentTo ?? []) {
        const earlier = await lookup(processor, 'authorize', key, 'resuming an earlier attempt');
        if (earlier) return earlier;
      }
      const reasons: string[] = [];
      for (const processor of routeFor(request.method, request.currency)) {
        const attempt = await attemptAt(processor, 'authorize', key, () => adapterOf(processor, 'authorize').authorize(request), authorizeOptions.onSend);
        if (attempt.done) return attempt.value;
        reasons.push(attempt.reason);
      }
      throw new ProcessorUnavailable(null, 'authorize', `No processor could take ${key}: ${reasons.join('; ')}`);
    },
    capture: (processor, r) => followUp(processor, 'capture', r.idempotencyKey, (adapter) => adapter.capture(r)),
    void: (processor, r) => followUp(processor, 'void', r.idempotencyKey, (adapter) => adapter.void(r)),
    refund: (processor, r) => followUp(processor, 'refund', r.idempotencyKey, (adapter) => adapter.refund(r)),
    routeFor,
    async findAuthorization(method, currency, key) {
      for (const processor of routeFor(method, currency)) {
        const found = await lookup(processor, 'authorize', key, 'abandoning an authorization');
        if (found) return found;
      }
      return null;
    },
    breakerStates: () => breakers.states(),
  };
}
