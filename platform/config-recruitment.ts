import { durationFromEnv } from './env.js';

/**
 * Recruitment (issue #21, contract §11). Spread into the one schema in platform/config.ts; the API
 * passes it in the interview run's input (a workflow reads no env).
 */
export const recruitmentEnv = {
  /** How long before an interview's slot its interviewer is reminded (at once when the slot is nearer). */
  INTERVIEW_REMINDER_BEFORE: durationFromEnv('24h'),
  /** How long after the slot the interview's run waits for the interviewer's feedback (`awaiting_feedback`) before it ends `feedback_missing`. */
  INTERVIEW_FEEDBACK_WINDOW: durationFromEnv('7d'),
};
