import { setTimeout as sleep } from 'node:timers/promises';
import type { AfterCommitFaultStep } from '../platform/config.js';

/**
 * Fault injection for crash drills and tests (FAULT_DELAY_AFTER_COMMIT_MS, FAULT_AFTER_COMMIT_STEPS):
 * the listed steps pause after their transaction committed. Absent (or a 0 delay) in production.
 */
export interface AfterCommitFault {
  delayMs: number;
  steps: readonly AfterCommitFaultStep[];
}

/**
 * Pauses `step` after its commit when the fault is armed for it: a worker killed in the pause has
 * written its effect, and Temporal never hears that the attempt completed — the next attempt runs
 * against committed state, the window where an effect could happen twice.
 */
export async function pauseAfterCommit(fault: AfterCommitFault | undefined, step: AfterCommitFaultStep): Promise<void> {
  if (fault && fault.delayMs > 0 && fault.steps.includes(step)) await sleep(fault.delayMs);
}
