import type { Decision, Verdict } from './limiter.js';
import { replenishMs } from './policy.js';

const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * The response headers of a decision (contract §7), for the policies it consumed from (peeked
 * policies are not the client's quota and are not shown):
 *
 * - `RateLimit-Policy: "default";q=200;w=2` and `RateLimit: "default";r=57;t=1`, the IETF httpapi
 *   draft (draft-ietf-httpapi-ratelimit-headers-11): `q` is the most the policy allows at once (a
 *   full bucket, a whole window), `w` the seconds in which all of `q` comes back (so q/w is the
 *   sustained rate: 100/s with burst 200 is q=200;w=2), `r` what is left now, `t` the seconds
 *   until all of it is back. Seconds are rounded up (the draft has no sub-second precision).
 * - `X-RateLimit-Limit`, `-Remaining`, `-Reset` (seconds): the same numbers for the tightest policy
 *   (least remaining), as most clients read only these.
 * - `Retry-After` (seconds, rounded up: the first second in which the request would be allowed)
 *   on a refusal.
 */
export function rateLimitHeaders(decision: Decision): Record<string, string> {
  const shown = decision.verdicts.filter((v) => !v.peek);
  const headers: Record<string, string> = {};
  if (shown.length > 0) {
    headers['RateLimit-Policy'] = shown.map((v) => `"${v.policy.name}";q=${v.policy.burst};w=${Math.max(1, seconds(replenishMs(v.policy)))}`).join(', ');
    headers['RateLimit'] = shown.map((v) => `"${v.policy.name}";r=${v.remaining};t=${seconds(v.resetMs)}`).join(', ');
    const tightest = shown.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
    headers['X-RateLimit-Limit'] = String(tightest.policy.burst);
    headers['X-RateLimit-Remaining'] = String(tightest.remaining);
    headers['X-RateLimit-Reset'] = String(seconds(tightest.resetMs));
  }
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, seconds(decision.retryAfterMs)));
  return headers;
}

/** The policies that refused (the first one names the 429), most binding first. */
export function refusingPolicies(decision: Decision): Verdict[] {
  return decision.verdicts.filter((v) => !v.allowed).sort((a, b) => b.retryAfterMs - a.retryAfterMs);
}
