import { LeaveError } from './errors.js';

/**
 * Rules of employees and the org chart that need no database. The chart stays a forest at most
 * ORG_DEPTH_MAX levels deep, so walking it (reports, escalation) is bounded and complete.
 */

export const ORG_DEPTH_MAX = 50;

const COUNTRY = /^[A-Z]{2}$/;

/** Employees and holidays name their country the same way (it picks the holidays an employee gets). */
export function checkCountry(country: string | null | undefined): void {
  if (country != null && !COUNTRY.test(country)) {
    throw new LeaveError('parameter_invalid', 'country must be an upper-case ISO 3166-1 alpha-2 code.', 'country');
  }
}

/**
 * Whether `managerId` can manage `employeeId` (null: a new employee), given the manager's chain
 * up to the top of the chart (`chainIds`, the manager first; empty: no such manager) and the
 * height of the employee's own subtree (`heightBelow` levels): the manager exists, is not the
 * employee nor one of their reports, and the chart stays within ORG_DEPTH_MAX levels.
 */
export function checkManagerChain(input: {
  employeeId: string | null;
  managerId: string;
  chainIds: readonly string[];
  heightBelow: number;
}): void {
  const { employeeId, managerId, chainIds, heightBelow } = input;
  if (chainIds.length === 0) throw new LeaveError('resource_missing', `No such employee (manager_id): ${managerId}`, 'manager_id');
  if (employeeId !== null && chainIds.includes(employeeId)) {
    throw new LeaveError('parameter_invalid', 'An employee cannot report to themselves or to one of their own reports.', 'manager_id');
  }
  if (chainIds.length + 1 + heightBelow > ORG_DEPTH_MAX) {
    throw new LeaveError('parameter_invalid', `The org chart would be deeper than ${ORG_DEPTH_MAX} levels.`, 'manager_id');
  }
}
