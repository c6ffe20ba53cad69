import { durationFromEnv } from './env.js';

/**
 * Performance review cycles (issue #21, contract §11). Spread into the one schema in
 * platform/config.ts; the API passes them in the cycle's workflow input (a workflow reads no env).
 */
export const reviewEnv = {
  /** How long before each due date (self review, manager review) the people still owing one are reminded. */
  REVIEW_REMINDER_BEFORE: durationFromEnv('2d'),
  /** How long after the manager review's due date a review still waiting escalates to the reviewer's manager. */
  REVIEW_ESCALATION_AFTER: durationFromEnv('1d'),
  /** How long the one statement that opens a cycle's reviews (10,000 rows: well under a second) may run before Temporal retries it. */
  REVIEW_OPEN_TIMEOUT: durationFromEnv('2m'),
};
