import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { metrics } from '../../../platform/metrics.js';
import { ProcessorDeclined, ProcessorOutcomeUnknown, ProcessorRequestRejected, ProcessorUnavailable } from './errors.js';

export interface BreakerOptions {
  /** Consecutive failures (5xx, unreachable, no answer) that open a processor's breaker. */
  consecutiveFailures: number;
  /** How long an open breaker refuses calls before it lets one trial call through. */
  halfOpenAfterMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open' | 'isolated';

/** What a call through a breaker came to; `circuit_open` means the processor was not called. */
export type Guarded<T> = { ok: true; value: T } | { ok: false; circuitOpen: true };

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

const STATE_GAUGE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.HalfOpen]: 1,
  [CircuitState.Open]: 2,
  [CircuitState.Isolated]: 2,
};

/**
 * One cockatiel circuit breaker per processor. Only transport failures count against a
 * processor: a decline or a rejected request is the processor working, so it counts as a success
 * (cockatiel would otherwise rethrow it without resetting the consecutive count).
 */
export function createBreakers(processors: readonly string[], options: BreakerOptions) {
  const policies = new Map<string, CircuitBreakerPolicy>();
  for (const processor of processors) {
    const policy = circuitBreaker(handleWhen((err) => err instanceof ProcessorUnavailable || err instanceof ProcessorOutcomeUnknown), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.consecutiveFailures),
    });
    // The gauge of /metrics (worker process): 0 closed, 1 half-open, 2 open (or isolated).
    metrics.circuitBreakerState.set({ breaker: processor }, 0);
    policy.onStateChange((state) => metrics.circuitBreakerState.set({ breaker: processor }, STATE_GAUGE[state]));
    policies.set(processor, policy);
  }

  function policyOf(processor: string): CircuitBreakerPolicy {
    const policy = policies.get(processor);
    if (!policy) throw new Error(`No breaker for processor ${processor}`);
    return policy;
  }

  return {
    /** Runs `call` unless the processor's breaker is open; rethrows what `call` throws. */
    async guard<T>(processor: string, call: () => Promise<T>): Promise<Guarded<T>> {
      let outcome: { value: T } | { refused: ProcessorDeclined | ProcessorRequestRejected };
      try {
        outcome = await policyOf(processor).execute(async () => {
          try {
            return { value: await call() };
          } catch (err) {
            if (err instanceof ProcessorDeclined || err instanceof ProcessorRequestRejected) return { refused: err };
            throw err;
          }
        });
      } catch (err) {
        // IsolatedCircuitError (held open by hand) is a BrokenCircuitError too.
        if (err instanceof BrokenCircuitError) return { ok: false, circuitOpen: true };
        throw err;
      }
      if ('refused' in outcome) throw outcome.refused;
      return { ok: true, value: outcome.value };
    },
    /** Each processor's breaker, for metrics and ops. */
    states(): Record<string, BreakerState> {
      return Object.fromEntries([...policies].map(([processor, policy]) => [processor, STATE_NAMES[policy.state]]));
    },
  };
}

export type Breakers = ReturnType<typeof createBreakers>;
