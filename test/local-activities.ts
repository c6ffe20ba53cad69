import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

/** The marker the SDK's core records for a completed local activity (its result and `data`). */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/**
 * The attempt numbers with which the run's history records `activityType` completed as a local
 * activity, one per completion (its marker). A local activity leaves nothing in the history
 * until the workflow task that ran it completes: no marker yet means Temporal has no record of
 * it, whatever it did (a crash then runs it again from a fresh workflow task).
 */
export async function localActivityAttempts(temporal: Client, workflowId: string, activityType: string): Promise<number[]> {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === LOCAL_ACTIVITY_MARKER ? marker.details?.data?.payloads?.[0] : undefined;
    if (!data) return [];
    const { activity_type: type, attempt } = defaultPayloadConverter.fromPayload<{ activity_type: string; attempt: number }>(data);
    return type === activityType ? [attempt] : [];
  });
}
