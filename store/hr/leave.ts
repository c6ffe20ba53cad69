/**
 * The leave storage layer in one import: leave types, holidays, the leave ledger and balances,
 * requests and their decisions. Each part lives in its own file; this is only the index.
 */
export { findLeaveType, leaveTypesWithAnnualDays, upsertLeaveType, type LeaveTypeInput } from './leave-types.js';
export { allocateOnHire } from './hire.js';
export { HOLIDAYS_LIST_MAX, holidayDatesFor, insertHoliday, listHolidays } from './holidays.js';
export { ALLOCATION_DAYS_MAX, allocateLeave, leaveBalances, type Allocation } from './leave-ledger.js';
export {
  appendNotifiedEntry, countLeaveRequestsByStatus, countPendingLeaveRequests, createLeaveRequest, findLeaveRequest,
  listLeaveRequests, listOpenLeaveRequests, OPEN_REQUESTS_MAX, REASON_LENGTH_MAX, type LeaveRequestFilter, type NewLeaveRequest,
} from './leave-requests.js';
export {
  COMMENT_LENGTH_MAX, decideLeaveRequest, escalateLeaveRequest, reassignLeaveRequest, setApprover, type ApproverChange, type LeaveDecisionInput,
} from './leave-decisions.js';
