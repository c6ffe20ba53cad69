import { ActivityFailure, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { DigestActivities } from '../../activities/notifications/digest-activities.js';
import type { DigestInput, DigestOutcome } from '../../domain/notifications/digest.js';
import { digestActivity, digestFailActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';

export type { DigestInput, DigestOutcome };

export interface DigestResult {
  status: DigestOutcome;
  messages: number;
}

/**
 * A user's e-mail digest (issue #20, contract §10): started by the first e-mail held in it (and
 * again, idempotently, by each later one), it sleeps until the window ends, then one activity
 * sends the ONE e-mail — idempotency key `<workflow id>:send` — and ends every held delivery with
 * it in one transaction. If that step runs out of attempts, the held deliveries are dead-lettered.
 */
export async function digest(input: DigestInput): Promise<DigestResult> {
  const steps = proxyActivities<DigestActivities>(digestActivity);
  const ref = { tenantId: input.tenantId, digestId: input.digestId };
  const waitMs = Date.parse(input.windowEnd) - Date.now();
  if (waitMs > 0) {
    setBusinessStatus('open');
    await sleep(waitMs);
  }
  let result: DigestResult;
  try {
    result = await steps.sendDigest({ ...ref, idempotencyKey: `${workflowInfo().workflowId}:send` });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const message = err.cause?.message ?? err.message;
    result = await proxyActivities<DigestActivities>(digestFailActivity).failDigest({ ...ref, error: message });
  }
  setBusinessStatus(result.status);
  return result;
}
