import { z } from 'zod';
import { durationFromEnv } from '../env.js';

/**
 * A rate-limit policy as written in the environment (JSON), and its normalised form. Every
 * algorithm is described by the same three numbers so the Lua script, the in-process fallback
 * and the response headers share one shape:
 *   token_bucket, leaky_bucket, gcra: `rate` requests per `period`, at most `burst` at once;
 *   fixed_window, sliding_window: `limit` requests per `window` (rate = burst = limit, period = window).
 */

export const ALGORITHMS = ['token_bucket', 'leaky_bucket', 'gcra', 'fixed_window', 'sliding_window'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

const DAY_MS = 86_400_000;
const COUNT_MAX = 1_000_000;
/** A sliding-window log keeps one entry per request in the window: bounded so a key stays small. */
export const SLIDING_WINDOW_LIMIT_MAX = 10_000;

/** Names appear in keys and, quoted, in the `RateLimit` headers (a structured-field string). */
export const policyNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,63}$/, 'must be 1-64 of a-z 0-9 _ . : -');

const count = (max = COUNT_MAX) => z.number().int().min(1).max(max);
const duration = durationFromEnv('1s').pipe(z.number().int().min(1).max(DAY_MS));
const failureMode = z.enum(['open', 'closed']).default('open');

const rated = <A extends 'token_bucket' | 'leaky_bucket' | 'gcra'>(algorithm: A) =>
  z.strictObject({
    algorithm: z.literal(algorithm),
    rate: count(),
    period: duration,
    burst: count().optional(),
    failure_mode: failureMode,
  });

const windowed = <A extends 'fixed_window' | 'sliding_window'>(algorithm: A, limitMax: number) =>
  z.strictObject({ algorithm: z.literal(algorithm), limit: count(limitMax), window: duration, failure_mode: failureMode });

/**
 * One policy in JSON, e.g. `{"algorithm":"token_bucket","rate":100,"period":"1s","burst":200}` or
 * `{"algorithm":"sliding_window","limit":20,"window":"1s","failure_mode":"closed"}`. Durations are
 * strings (`500ms`, `1s`, `1m`, `1h`, `1d`). `burst` defaults to `rate` for a token bucket and to 1
 * for a leaky bucket and GCRA (requests spaced at the rate). `failure_mode` (default `open`) says
 * what happens while Redis cannot answer.
 */
export const policySchema = z.discriminatedUnion('algorithm', [
  rated('token_bucket'),
  rated('leaky_bucket'),
  rated('gcra'),
  windowed('fixed_window', COUNT_MAX),
  windowed('sliding_window', SLIDING_WINDOW_LIMIT_MAX),
]);
export type PolicyConfig = z.infer<typeof policySchema>;

export const policiesSchema = z.record(policyNameSchema, policySchema)
  .refine((policies) => Object.keys(policies).length <= 100, 'at most 100 policies');

export interface Policy {
  name: string;
  algorithm: Algorithm;
  /** Requests allowed per `periodMs` on average. */
  rate: number;
  periodMs: number;
  /** Requests allowed at once (a full bucket, a whole window). */
  burst: number;
  failureMode: 'open' | 'closed';
}

export function toPolicy(name: string, config: PolicyConfig): Policy {
  const failureMode = config.failure_mode;
  switch (config.algorithm) {
    case 'token_bucket':
      return { name, algorithm: config.algorithm, rate: config.rate, periodMs: config.period, burst: config.burst ?? config.rate, failureMode };
    case 'leaky_bucket':
    case 'gcra':
      return { name, algorithm: config.algorithm, rate: config.rate, periodMs: config.period, burst: config.burst ?? 1, failureMode };
    case 'fixed_window':
    case 'sliding_window':
      return { name, algorithm: config.algorithm, rate: config.limit, periodMs: config.window, burst: config.limit, failureMode };
    default: {
      const unknown: never = config;
      throw new Error(`unknown rate-limit algorithm ${JSON.stringify(unknown)}`);
    }
  }
}

/** The whole quota comes back within this many ms (an empty bucket refills, a window passes). */
export function replenishMs(policy: Policy): number {
  return Math.ceil((policy.burst * policy.periodMs) / policy.rate);
}
