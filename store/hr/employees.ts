import type pg from 'pg';
import { checkCountry, checkManagerChain, ORG_DEPTH_MAX } from '../../domain/hr/employees.js';
import { LeaveError } from '../../domain/hr/errors.js';
import type { Employee, EmployeeStatus, Report } from '../../domain/hr/types.js';
import { checkEmployed, checkTerminationDate } from '../../domain/hr/termination.js';
import { dayNumberOf, utcToday } from '../../domain/hr/working-days.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { findAccount } from '../ledger/accounts.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { assertInTransaction, col, pgErrorOf, rowMapper } from '../rows.js';

/**
 * The `employees` table: employees and the org chart. setManager refuses cycles and charts deeper
 * than ORG_DEPTH_MAX (domain/hr/employees.ts) under a per-tenant lock, so walking the chart
 * (reports, escalation) is bounded and complete.
 */

/** Rows listReports returns at most (the org chart endpoint has no pages). */
export const REPORTS_MAX = 10_000;

const employeeFields = {
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  employeeNumber: col.text('employee_number'),
  firstName: col.text('first_name'),
  lastName: col.text('last_name'),
  email: col.text('email'),
  department: col.text('department'),
  managerId: col.textOrNull('manager_id'),
  hireDate: col.date('hire_date'),
  country: col.textOrNull('country'),
  status: col.of<EmployeeStatus>('status'),
  walletAccountId: col.textOrNull('wallet_account_id'),
  terminationDate: col.dateOrNull('termination_date'),
  terminationReason: col.textOrNull('termination_reason'),
  createdAt: col.timestamp('created_at'),
};
const employee = rowMapper<Employee>(employeeFields);
/** An employee of the reports CTE, with the depth it was found at. */
const report = rowMapper<Report>({ ...employeeFields, depth: col.int('depth') });

/** An employee to insert (active, no wallet yet): the id is made when absent; no manager and no country by default. */
export type NewEmployee = Omit<Employee, 'id' | 'managerId' | 'country' | 'status' | 'walletAccountId' | 'terminationDate' | 'terminationReason' | 'createdAt'> &
  Partial<Pick<Employee, 'id' | 'managerId' | 'country'>>;

/** Duplicate number or email (case-insensitive): `resource_exists`; unknown manager: `resource_missing`. */
export async function insertEmployee(db: Db, input: NewEmployee): Promise<Employee> {
  dayNumberOf(input.hireDate, 'hire_date');
  checkCountry(input.country);
  // A new employee has no reports, so no cycle: only the chart's depth needs checking.
  if (input.managerId) await checkNewManager(db, input.tenantId, null, input.managerId, 0);
  try {
    const { rows } = await db.query(
      `INSERT INTO employees (id, tenant_id, employee_number, first_name, last_name, email, department, manager_id, hire_date, country)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${employee.columns()}`,
      [
        input.id ?? newId('employee'), input.tenantId, input.employeeNumber, input.firstName, input.lastName, input.email,
        input.department, input.managerId ?? null, input.hireDate, input.country ?? null,
      ],
    );
    return employee.map(rows[0]);
  } catch (err) {
    throw employeeWriteError(err);
  }
}

const DUPLICATE_PARAMS: Record<string, string> = {
  employees_number_unique: 'employee_number',
  employees_email_unique: 'email',
  employees_pkey: 'id',
};

function employeeWriteError(err: unknown): unknown {
  const { code, constraint } = pgErrorOf(err);
  const param = constraint === undefined ? undefined : DUPLICATE_PARAMS[constraint];
  if (code === '23505' && param) return new LeaveError('resource_exists', `An employee with this ${param} already exists.`, param);
  // The manager was deleted or moved between the check and the insert.
  if (code === '23503' && constraint === 'employees_manager') return new LeaveError('resource_missing', 'No such employee (manager_id).', 'manager_id');
  return err;
}

/** Another tenant's employee reads as missing (`null`), like one that does not exist. */
export async function findEmployee(db: Db, tenantId: string, employeeId: string): Promise<Employee | null> {
  const { rows } = await db.query(`SELECT ${employee.columns()} FROM employees WHERE tenant_id = $1 AND id = $2`, [tenantId, employeeId]);
  return rows[0] ? employee.map(rows[0]) : null;
}

/**
 * Locks the employee's row in the caller's transaction: every leave request of one employee is
 * created under this lock, one after the other, so each sees the reservations of the ones before.
 * `FOR NO KEY UPDATE`: rows that only reference the employee (ledger rows) are not blocked.
 */
export async function lockEmployee(client: pg.PoolClient, tenantId: string, employeeId: string): Promise<Employee> {
  assertInTransaction(client, 'lockEmployee');
  const { rows } = await client.query(
    `SELECT ${employee.columns()} FROM employees WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`,
    [tenantId, employeeId],
  );
  if (!rows[0]) throw new LeaveError('resource_missing', `No such employee: ${employeeId}`, 'employee_id');
  return employee.map(rows[0]);
}

/** The id of the employee's manager; null when they have none. An unknown employee is `resource_missing`. */
export async function managerOf(db: Db, tenantId: string, employeeId: string): Promise<string | null> {
  const { rows } = await db.query('SELECT manager_id FROM employees WHERE tenant_id = $1 AND id = $2', [tenantId, employeeId]);
  if (!rows[0]) throw new LeaveError('resource_missing', `No such employee: ${employeeId}`, 'id');
  return (rows[0].manager_id as string | null) ?? null;
}

/**
 * Moves an employee under another manager (null: top of the chart). Refuses a manager who
 * reports to the employee, directly or not (a cycle), and a chart deeper than ORG_DEPTH_MAX.
 * Org changes of a tenant run one at a time (an advisory lock), so two concurrent moves cannot
 * build a cycle that neither saw.
 */
export async function setManager(
  client: pg.PoolClient,
  input: { tenantId: string; employeeId: string; managerId: string | null },
): Promise<Employee> {
  assertInTransaction(client, 'setManager');
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('steadfast:org-chart:' || $1, 0))`, [input.tenantId]);
  if (!(await findEmployee(client, input.tenantId, input.employeeId))) {
    throw new LeaveError('resource_missing', `No such employee: ${input.employeeId}`, 'id');
  }
  if (input.managerId !== null) {
    const height = await subtreeHeight(client, input.tenantId, input.employeeId);
    await checkNewManager(client, input.tenantId, input.employeeId, input.managerId, height);
  }
  const { rows } = await client.query(
    `UPDATE employees SET manager_id = $3 WHERE tenant_id = $1 AND id = $2 RETURNING ${employee.columns()}`,
    [input.tenantId, input.employeeId, input.managerId],
  );
  return employee.map(rows[0]);
}

/**
 * Checks `managerId` as the new manager of `employeeId` (null: a new employee) against the
 * manager's chain up to the top of the chart (checkManagerChain).
 */
async function checkNewManager(db: Db, tenantId: string, employeeId: string | null, managerId: string, heightBelow: number): Promise<void> {
  // The manager's chain up to the top, bounded even if a cycle existed.
  const { rows } = await db.query(
    `WITH RECURSIVE chain (id, manager_id, level, status) AS (
       SELECT id, manager_id, 1, status FROM employees WHERE tenant_id = $1 AND id = $2
       UNION ALL
       SELECT e.id, e.manager_id, c.level + 1, e.status FROM chain c JOIN employees e ON e.tenant_id = $1 AND e.id = c.manager_id
       WHERE c.level <= $3)
     SELECT id, level, status FROM chain`,
    [tenantId, managerId, ORG_DEPTH_MAX],
  );
  const manager = rows.find((r) => r.level === 1);
  if (manager) checkEmployed({ id: managerId, status: manager.status, terminationDate: null }, 'manager_id');
  checkManagerChain({ employeeId, managerId, chainIds: rows.map((r) => r.id as string), heightBelow });
}

/** The subtree below an employee, direct reports at depth 1, bounded by ORG_DEPTH_MAX. */
const REPORTS_CTE = `WITH RECURSIVE reports AS (
    SELECT e.*, 1 AS depth FROM employees e WHERE e.tenant_id = $1 AND e.manager_id = $2
    UNION ALL
    SELECT e.*, r.depth + 1 FROM reports r JOIN employees e ON e.tenant_id = $1 AND e.manager_id = r.id
    WHERE r.depth < $3)`;

async function subtreeHeight(db: Db, tenantId: string, employeeId: string): Promise<number> {
  const { rows } = await db.query(`${REPORTS_CTE} SELECT coalesce(max(depth), 0)::int AS height FROM reports`, [
    tenantId, employeeId, ORG_DEPTH_MAX,
  ]);
  return rows[0].height as number;
}

/**
 * The org chart below an employee: direct reports (`1`) or everyone (`'all'`), by depth, then
 * name. An unknown employee is `resource_missing`.
 */
export async function listReports(
  db: Db,
  tenantId: string,
  employeeId: string,
  depth: 1 | 'all',
): Promise<ListPage<Report>> {
  if (!(await findEmployee(db, tenantId, employeeId))) {
    throw new LeaveError('resource_missing', `No such employee: ${employeeId}`, 'id');
  }
  const { rows } = await db.query(
    `${REPORTS_CTE} SELECT ${report.columns('reports')} FROM reports
     ORDER BY reports.depth, reports.last_name, reports.first_name, reports.id LIMIT $4`,
    [tenantId, employeeId, depth === 'all' ? ORG_DEPTH_MAX : 1, REPORTS_MAX + 1],
  );
  return toPage(rows, REPORTS_MAX, report.map);
}

/** Whether the employee exists in the tenant (another tenant's reads as missing). */
export async function employeeExists(db: Db, tenantId: string, employeeId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM employees WHERE tenant_id = $1 AND id = $2', [tenantId, employeeId]);
  return rows[0] !== undefined;
}

export interface EmployeeFilter extends PageQuery {
  department?: string | undefined;
  managerId?: string | undefined;
  status?: EmployeeStatus | undefined;
  /** A piece of the name ("first last"), the email or the employee number, any case. */
  q?: string | undefined;
}

/** `%` and `_` in a search are the characters themselves, not LIKE wildcards. */
const likeContaining = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

/**
 * A tenant's employees, newest first (by id), filtered. `q` is a substring match over the
 * tenant's rows the other filters leave (no trigram index: see schema/0019_employees.sql).
 */
export async function listEmployees(db: Db, tenantId: string, filter: EmployeeFilter): Promise<ListPage<Employee>> {
  checkPageLimit(filter.limit);
  const { rows } = await db.query(
    `SELECT ${employee.columns()} FROM employees
     WHERE tenant_id = $1 AND ($2::text IS NULL OR department = $2) AND ($3::text IS NULL OR manager_id = $3)
       AND ($4::text IS NULL OR status = $4) AND ($5::text IS NULL OR id < $5)
       AND ($6::text IS NULL OR lower(first_name || ' ' || last_name) LIKE $6 OR lower(email) LIKE $6 OR lower(employee_number) LIKE $6)
     ORDER BY id DESC LIMIT $7`,
    [
      tenantId, filter.department ?? null, filter.managerId ?? null, filter.status ?? null, filter.startingAfter ?? null,
      filter.q === undefined ? null : likeContaining(filter.q), filter.limit + 1,
    ],
  );
  return toPage(rows, filter.limit, employee.map);
}

/** The fields `POST /v1/employees/:id` changes; absent: unchanged; null: cleared (where allowed). */
export interface EmployeeChanges {
  firstName?: string;
  lastName?: string;
  email?: string;
  department?: string;
  managerId?: string | null;
  country?: string | null;
  walletAccountId?: string | null;
}

/**
 * Changes an employee in the caller's transaction. A new manager goes through setManager (no
 * cycles, bounded depth); a wallet must be a user account of the tenant (`resource_missing`, or
 * `parameter_invalid` for a merchant or system account; its currency is payroll's concern); a
 * duplicate email is `resource_exists`. Unknown employee: `resource_missing`.
 */
export async function updateEmployee(
  client: pg.PoolClient,
  input: { tenantId: string; employeeId: string; changes: EmployeeChanges },
): Promise<Employee> {
  assertInTransaction(client, 'updateEmployee');
  const { tenantId, employeeId, changes } = input;
  checkCountry(changes.country);
  if (changes.walletAccountId != null) await checkWallet(client, tenantId, changes.walletAccountId);
  if (changes.managerId !== undefined) await setManager(client, { tenantId, employeeId, managerId: changes.managerId });
  const given = (value: unknown) => value !== undefined;
  try {
    const { rows } = await client.query(
      `UPDATE employees SET first_name = coalesce($3, first_name), last_name = coalesce($4, last_name),
         email = coalesce($5, email), department = coalesce($6, department),
         country = CASE WHEN $7 THEN $8 ELSE country END,
         wallet_account_id = CASE WHEN $9 THEN $10 ELSE wallet_account_id END
       WHERE tenant_id = $1 AND id = $2 RETURNING ${employee.columns()}`,
      [
        tenantId, employeeId, changes.firstName ?? null, changes.lastName ?? null, changes.email ?? null, changes.department ?? null,
        given(changes.country), changes.country ?? null, given(changes.walletAccountId), changes.walletAccountId ?? null,
      ],
    );
    if (!rows[0]) throw new LeaveError('resource_missing', `No such employee: ${employeeId}`, 'id');
    return employee.map(rows[0]);
  } catch (err) {
    throw employeeWriteError(err);
  }
}

async function checkWallet(db: Db, tenantId: string, accountId: string): Promise<void> {
  const account = await findAccount(db, tenantId, accountId);
  if (!account) throw new LeaveError('resource_missing', `No such account (wallet_account_id): ${accountId}`, 'wallet_account_id');
  if (account.type !== 'user') {
    throw new LeaveError('parameter_invalid', `wallet_account_id must be a user account, not a ${account.type} account.`, 'wallet_account_id');
  }
}

/** A termination to schedule (`POST /v1/employees/:id/terminate`). */
export interface TerminationInput {
  tenantId: string;
  employeeId: string;
  /** The last day employed, inclusive (YYYY-MM-DD). */
  terminationDate: string;
  reason: string | null;
  /** The request's Idempotency-Key (null: none): the same request again adopts the termination it scheduled. */
  requestKey: string | null;
}

/**
 * Schedules an employee's termination in the caller's transaction; the status stays `active`
 * until the offboarding workflow has seen the last day out. Refuses a date that is not a date or
 * is before the hire date (`parameter_invalid`), an unknown employee (`resource_missing`), and an
 * employee terminated or with a termination scheduled (`resource_exists`) — unless this is the
 * request that scheduled it, sent again (same Idempotency-Key, date and reason): `adopted`, nothing changes.
 */
export async function scheduleTermination(client: pg.PoolClient, input: TerminationInput): Promise<{ employee: Employee; adopted: boolean }> {
  assertInTransaction(client, 'scheduleTermination');
  dayNumberOf(input.terminationDate, 'termination_date'); // a malformed date is a 400, even for an unknown employee
  const { rows } = await client.query(
    `SELECT ${employee.columns()}, termination_request_key FROM employees WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`,
    [input.tenantId, input.employeeId],
  );
  if (!rows[0]) throw new LeaveError('resource_missing', `No such employee: ${input.employeeId}`, 'id');
  const current = employee.map(rows[0]);
  if (current.terminationDate !== null || current.status === 'terminated') {
    const sameRequest = input.requestKey !== null && rows[0].termination_request_key === input.requestKey
      && current.terminationDate === input.terminationDate && current.terminationReason === input.reason;
    if (sameRequest) return { employee: current, adopted: true };
    throw new LeaveError('resource_exists', current.status === 'terminated'
      ? 'The employee is terminated already.'
      : `The employee's termination is scheduled already (last day ${current.terminationDate}).`, 'id');
  }
  checkTerminationDate(input.terminationDate, current.hireDate, utcToday());
  const updated = await client.query(
    `UPDATE employees SET termination_date = $3, termination_reason = $4, termination_request_key = $5,
                          termination_requested_at = now(), run_seen_at = NULL
     WHERE tenant_id = $1 AND id = $2 RETURNING ${employee.columns()}`,
    [input.tenantId, input.employeeId, input.terminationDate, input.reason, input.requestKey],
  );
  return { employee: employee.map(updated.rows[0]), adopted: false };
}

/** Undoes a termination whose workflow definitely did not start (the request then changed nothing). */
export async function unscheduleTermination(db: Db, tenantId: string, employeeId: string, terminationDate: string): Promise<void> {
  await db.query(
    `UPDATE employees SET termination_date = NULL, termination_reason = NULL, termination_request_key = NULL, termination_requested_at = NULL
     WHERE tenant_id = $1 AND id = $2 AND termination_date = $3 AND status = 'active'`,
    [tenantId, employeeId, terminationDate],
  );
}

/**
 * Sets `status = 'terminated'` once the termination date is over (the offboarding workflow);
 * idempotent: a terminated employee stays as they are. Returns whether this call changed the row.
 */
export async function markTerminated(db: Db, tenantId: string, employeeId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE employees SET status = 'terminated'
     WHERE tenant_id = $1 AND id = $2 AND status = 'active' AND termination_date IS NOT NULL`,
    [tenantId, employeeId],
  );
  return rowCount === 1;
}
