import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { BroadcastActivities } from '../../activities/notifications/broadcast-activities.js';
import type { BroadcastStatus } from '../../domain/notifications/broadcast.js';
import { broadcastActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';

export interface BroadcastInput {
  tenantId: string;
  broadcastId: string;
  /** ISO time to start at (null: now). */
  scheduledAt: string | null;
  /** Recipients per page (BROADCAST_PAGE_SIZE; the workflow reads no env). */
  pageSize: number;
  /** BROADCAST_PAGE_TIMEOUT: a page's start-to-close timeout (absent in runs started before it: 2 min). */
  pageTimeoutMs?: number;
}

export interface BroadcastResult {
  status: BroadcastStatus;
}

/**
 * A broadcast to a topic (contract §10): ONE run for all its recipients, in pages by user id, each
 * page's outcomes committed with the cursor (store/notifications/broadcasts.ts `writePage`), then
 * the deliveries deferred by recipients' quiet hours once due. A cancel (the API sets `cancelled`)
 * stops it before its next page or batch; a worker crash resumes at the cursor. Waits for
 * `scheduledAt` on a durable timer.
 */
export async function broadcast(input: BroadcastInput): Promise<BroadcastResult> {
  const steps = proxyActivities<BroadcastActivities>(
    input.pageTimeoutMs === undefined ? broadcastActivity : { ...broadcastActivity, startToCloseTimeout: input.pageTimeoutMs },
  );
  const ref = { tenantId: input.tenantId, broadcastId: input.broadcastId };
  const untilMs = input.scheduledAt === null ? 0 : Date.parse(input.scheduledAt) - Date.now();
  if (untilMs > 0) {
    setBusinessStatus('scheduled');
    await sleep(untilMs);
  }
  let status = await steps.startBroadcast(ref);
  setBusinessStatus(status);
  if (status === 'sending') {
    for (let done = false; !done;) done = (await steps.sendBroadcastPage({ ...ref, pageSize: input.pageSize })).done;
    // Since 0.3.0's `broadcast-deferred`: recipients who were inside their quiet hours get theirs
    // once these end (the run sleeps until the next is due). Runs started before replay without it.
    if (patched('broadcast-deferred')) await sendDeferred(steps, { ...ref, pageSize: input.pageSize });
    status = await steps.finishBroadcast(ref);
    setBusinessStatus(status);
  }
  return { status };
}

/** The deferred pass: batches of due recipients until none is left, sleeping until the next is due. */
async function sendDeferred(steps: BroadcastActivities, input: { tenantId: string; broadcastId: string; pageSize: number }): Promise<void> {
  for (;;) {
    const { done, nextAt } = await steps.sendDeferredBroadcast(input);
    if (done) return;
    if (nextAt !== null) {
      setBusinessStatus('deferred');
      await sleep(Math.max(1, Date.parse(nextAt) - Date.now()));
      setBusinessStatus('sending');
    }
  }
}
