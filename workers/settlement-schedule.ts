import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import { workflowContracts, type WorkflowInput } from '../workflows/contracts.js';

type SettlementInput = WorkflowInput<'settlementRun'>;

export interface SettlementScheduleOptions extends SettlementInput {
  scheduleId: string;
  taskQueue: string;
}

/**
 * Creates the settlement Schedule, or brings an existing one up to date with the config: every
 * SETTLEMENT_INTERVAL a `settlementRun` starts; overlapping runs are skipped (a slow run is not
 * stacked on), and runs missed while the cluster was down are caught up within a day.
 */
export async function ensureSettlementSchedule(client: Client, options: SettlementScheduleOptions): Promise<void> {
  const input: SettlementInput = { intervalMs: options.intervalMs, lagMs: options.lagMs, batchLimit: options.batchLimit };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow', workflowType: workflowContracts.settlementRun.type, taskQueue: options.taskQueue, args: [input], workflowId: options.scheduleId,
  };
  const spec = { intervals: [{ every: options.intervalMs }] };
  try {
    await client.schedule.create({
      scheduleId: options.scheduleId, spec, action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec, action }));
  }
}
