/**
 * The table behind `workflows/contracts.ts`: for every workflow something outside a workflow starts
 * (the API, the outbox relay, ops, a Schedule) or a workflow starts as a child, its type, the task
 * queue role it runs on and its id scheme. Pure data with no imports, so a workflow can name its
 * child's id from here without an import circle; everyone else imports `contracts.ts`, which adds
 * the types (and checks this table against the workflows at compile time).
 */

/** The task queues by role; their names come from the config (`taskQueues(config)`). */
export interface TaskQueues {
  wallet: string;
  payments: string;
  hr: string;
  notifications: string;
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
  /** key: the employee id (one offboarding per employee, ever). */
  offboarding: { type: 'offboarding', queue: 'hr', idPrefix: 'offboarding-' },
  /** key: the payroll run id. */
  payrollRun: { type: 'payrollRun', queue: 'hr', idPrefix: 'payroll-run-' },
  /** key: the interview id (its reminder before the slot). */
  interviewReminder: { type: 'interviewReminder', queue: 'hr', idPrefix: 'interview-' },
  /** key: the offer id. */
  offer: { type: 'offer', queue: 'hr', idPrefix: 'offer-' },
  /** key: the review cycle id (one run per cycle; its reviews are rows, not runs). */
  reviewCycle: { type: 'reviewCycle', queue: 'hr', idPrefix: 'review-cycle-' },
  /** key: the notification id. */
  notification: { type: 'notification', queue: 'notifications', idPrefix: 'notification-' },
  /** key: the outbox event id (never a second run for one event). */
  domainEvent: { type: 'domainEvent', queue: 'notifications', idPrefix: 'event-' },
  /** key: the broadcast id. */
  broadcast: { type: 'broadcast', queue: 'notifications', idPrefix: 'broadcast-' },
  /** key: the digest id (one run per user's digest window; every held e-mail starts it with USE_EXISTING). */
  digest: { type: 'digest', queue: 'notifications', idPrefix: 'digest-' },
  /** key: `<delivery id>-<retry round>`. */
  deadLetterRetry: { type: 'deadLetterRetry', queue: 'notifications', idPrefix: 'dead-letter-retry-' },
} as const satisfies Record<string, { type: string; queue: keyof TaskQueues; idPrefix: string }>;

/** The workflow id of the run for `key` (see each contract): `<idPrefix><key>`. */
export function workflowIdOf(contract: { readonly idPrefix: string }, key: string): string {
  return `${contract.idPrefix}${key}`;
}
