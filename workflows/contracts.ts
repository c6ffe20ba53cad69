import type * as workflows from './index.js';

/**
 * The contract of every workflow something outside a workflow starts (the API, the outbox relay,
 * ops, a Schedule) or a workflow starts as a child: its type, the task queue it runs on and its id
 * scheme. Input and result types come from the workflow function itself, so a caller that passes
 * the wrong input fails to compile (`startWorkflow(temporal, queues, workflowContracts.topUp, …)`).
 *
 * Pure data and types: workflows import it too (a parent names its child's id), so no I/O here.
 */

/** The task queues by role; their names come from the config (`taskQueues(config)`). */
export interface TaskQueues {
  wallet: string;
  payments: string;
  hr: string;
  notifications: string;
}

type Workflows = typeof workflows;
export type WorkflowName = keyof Workflows;
export type WorkflowInput<N extends WorkflowName> = Parameters<Workflows[N]>[0];
export type WorkflowResult<N extends WorkflowName> = Awaited<ReturnType<Workflows[N]>>;

export interface WorkflowContract<N extends WorkflowName> {
  /** The workflow type: the name `workflows/index.ts` exports it under. */
  readonly type: N;
  /** The queue its workflow tasks run on. */
  readonly queue: keyof TaskQueues;
  /** Business ids: `<idPrefix><key>`, e.g. `transfer-tr_01H…` (one run per business object). */
  readonly idPrefix: string;
}

export const workflowContracts = {
  /** key: the transfer id. */
  p2pTransfer: { type: 'p2pTransfer', queue: 'wallet', idPrefix: 'transfer-' },
  /** key: the top-up id. */
  topUp: { type: 'topUp', queue: 'wallet', idPrefix: 'topup-' },
  /** key: the payment id. */
  paymentSaga: { type: 'paymentSaga', queue: 'payments', idPrefix: 'payment-' },
  /** Started by the settlement Schedule: the id is the schedule's (`settlement`), Temporal adds the time. */
  settlementRun: { type: 'settlementRun', queue: 'payments', idPrefix: '' },
  /** key: the leave request id. */
  leaveApproval: { type: 'leaveApproval', queue: 'hr', idPrefix: 'leave-' },
  /** key: the notification id. */
  notification: { type: 'notification', queue: 'notifications', idPrefix: 'notification-' },
  /** key: the outbox event id (never a second run for one event). */
  domainEvent: { type: 'domainEvent', queue: 'notifications', idPrefix: 'event-' },
  /** key: `<delivery id>-<retry round>`. */
  deadLetterRetry: { type: 'deadLetterRetry', queue: 'notifications', idPrefix: 'dead-letter-retry-' },
} as const satisfies { [N in WorkflowName]: WorkflowContract<N> };

/** The workflow id of the run for `key` (see each contract). */
export function workflowIdOf(contract: WorkflowContract<WorkflowName>, key: string): string {
  return `${contract.idPrefix}${key}`;
}
