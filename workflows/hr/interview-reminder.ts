import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RecruitmentActivities } from '../../activities/hr/recruitment-activities.js';
import { mustFinishActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import { feedbackGivenSignal, type InterviewReminderInput, type InterviewReminderResult } from './recruitment-types.js';

/**
 * An interview (contract §11): a durable timer until `remindBeforeMs` before the slot (at once
 * when that is past), then the interviewer's `interview.reminder` goes into the outbox, and from
 * there through the notification system; then the run waits (`awaiting_feedback`) until
 * `feedbackWindowMs` after the slot for the interviewer's feedback, so ops see every interview
 * still without one. Feedback given before the reminder makes it unnecessary. One small run per
 * interview: interviews of one candidate have their own slots and lifetimes, and timers are all an
 * interview needs.
 */
export async function interviewReminder(input: InterviewReminderInput): Promise<InterviewReminderResult> {
  const { remindInterviewer } = proxyActivities<RecruitmentActivities>(mustFinishActivity);
  let feedbackGiven = false;
  setHandler(feedbackGivenSignal, () => {
    feedbackGiven = true;
  });
  const slotMs = Date.parse(input.at);
  const untilReminderMs = slotMs - input.remindBeforeMs - Date.now();
  if (untilReminderMs > 0) {
    setBusinessStatus('awaiting_reminder');
    await condition(() => feedbackGiven, untilReminderMs);
  }
  let reminded = false;
  if (!feedbackGiven) {
    reminded = await remindInterviewer({
      tenantId: input.tenantId, interviewId: input.interviewId, idempotencyKey: `${workflowInfo().workflowId}:remind`,
    });
    setBusinessStatus('awaiting_feedback');
    const untilWindowEndMs = slotMs + input.feedbackWindowMs - Date.now();
    if (untilWindowEndMs > 0) await condition(() => feedbackGiven, untilWindowEndMs);
  }
  setBusinessStatus(feedbackGiven ? 'feedback_given' : 'feedback_missing');
  return { reminded, feedbackGiven };
}
