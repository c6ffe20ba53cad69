import { proratedAnnualDays } from '../../domain/hr/hire-allocation.js';
import type { Employee, LeaveLedgerEntry } from '../../domain/hr/types.js';
import type { Db } from '../db.js';
import { allocateLeave } from './leave-ledger.js';
import { leaveTypesWithAnnualDays } from './leave-types.js';

/**
 * Hiring (contract §9): each leave type with `annual_days` allocates its share of the rest of the
 * hire year (domain/hr/hire-allocation.ts) as an `allocation` row of the leave ledger. Run it in
 * the transaction that inserts the employee: hired means allocated. One key per employee and leave
 * type, so the allocation is written once whatever retries.
 */
export async function allocateOnHire(db: Db, employee: Employee): Promise<LeaveLedgerEntry[]> {
  const entries: LeaveLedgerEntry[] = [];
  for (const type of await leaveTypesWithAnnualDays(db, employee.tenantId)) {
    if (type.annualDays === null) continue;
    const { year, days } = proratedAnnualDays(type.annualDays, employee.hireDate);
    if (days === 0) continue; // hired too late in the year for half a day
    const { entry } = await allocateLeave(db, {
      tenantId: employee.tenantId, employeeId: employee.id, leaveType: type.code, year, days,
      idempotencyKey: `hire:${employee.id}:${type.code}`,
    });
    entries.push(entry);
  }
  return entries;
}
