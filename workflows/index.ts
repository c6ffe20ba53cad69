// Every workflow the workers run; this file is the workflow bundle's entry point.
export { p2pTransfer } from './wallet/p2p-transfer.js';
export { topUp } from './wallet/top-up.js';
export { paymentSaga } from './payments/payment-saga.js';
export { settlementRun } from './payments/settlement.js';
export { leaveApproval } from './hr/leave-approval.js';
export { offboarding } from './hr/offboarding.js';
export { payrollRun } from './payroll/payroll-run.js';
export { interviewReminder } from './hr/interview-reminder.js';
export { offer } from './hr/offer.js';
export { reviewCycle } from './hr/review-cycle.js';
export { notification } from './notifications/notification.js';
export { domainEvent } from './notifications/domain-event.js';
export { deadLetterRetry } from './notifications/dead-letter-retry.js';
export { broadcast } from './notifications/broadcast.js';
export { digest } from './notifications/digest.js';
