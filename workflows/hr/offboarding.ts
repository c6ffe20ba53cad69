import { patched, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { OffboardingActivities } from '../../activities/hr/offboarding-activities.js';
import { mustFinishActivity, sweepActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import type { OffboardingInput, OffboardingResult } from './types.js';

const DAY_MS = 86_400_000;

/**
 * Runs started before this patch acted at 00:00 UTC of the day after the termination date; the
 * contract says "at the date the employee is terminated": 00:00 UTC of the date itself.
 */
export const OFFBOARDING_AT_DATE_PATCH = 'offboarding-at-date';

/**
 * Offboarding (contract §9): at the termination date — 00:00 UTC of `terminationDate`, on the
 * workflow clock, a durable timer; at once when that is past — the employee's reports (and the
 * approvals waiting for them) move to their own manager, their pending leave and approved leave
 * after the date is cancelled (days released), and they are `terminated`. The date itself is still
 * their last day for pay and leave (payroll prorates through it, inclusive). Status last, so
 * `terminated` means everything else is done. Every step is idempotent by its key: a retried or
 * replayed step does nothing twice.
 */
export async function offboarding(input: OffboardingInput): Promise<OffboardingResult> {
  const hr = proxyActivities<OffboardingActivities>(sweepActivity);
  // A short write, but the run must not end without it: retried until it succeeds.
  const { markEmployeeTerminated } = proxyActivities<OffboardingActivities>(mustFinishActivity);
  const key = (step: string) => `${workflowInfo().workflowId}:${step}`;
  const base = { tenantId: input.tenantId, employeeId: input.employeeId };

  const atDate = patched(OFFBOARDING_AT_DATE_PATCH);
  const untilDateMs = Date.parse(`${input.terminationDate}T00:00:00Z`) + (atDate ? 0 : DAY_MS) - Date.now();
  if (untilDateMs > 0) {
    setBusinessStatus('awaiting_termination_date');
    await sleep(untilDateMs);
  }
  setBusinessStatus('offboarding');
  const handOver = await hr.handOverReports({ ...base, idempotencyKey: key('hand-over') });
  const leaveCancelled = await hr.cancelLeaveAfterLastDay({ ...base, lastDay: input.terminationDate, idempotencyKey: key('cancel-leave') });
  await markEmployeeTerminated(base);
  setBusinessStatus('terminated');
  return { status: 'terminated', reportsMoved: handOver.reportsMoved, requestsMoved: handOver.requestsMoved, leaveCancelled };
}
