-- Up Migration

-- Issue #19 (contract §4, §9): employees you can manage, and leave types that allocate on hire.

-- `terminated` is set by the offboarding workflow; everyone else is active.
ALTER TABLE employees ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated'));
-- employees.wallet_account_id (where pay goes) is added by 0018_payroll_rules.sql.

-- The list's filters (`GET /v1/employees?department=&status=`; `manager_id` uses employees_manager),
-- newest first by id. `q` (a substring of name, email or number) scans the tenant's rows that the
-- other filters leave: no pg_trgm (not installed everywhere), and a tenant has thousands of
-- employees, not millions.
CREATE INDEX employees_department ON employees (tenant_id, department, id);
CREATE INDEX employees_status ON employees (tenant_id, status, id);

-- Days of this type each employee gets for a full year, allocated pro rata on hire (null: none).
ALTER TABLE leave_types ADD COLUMN annual_days numeric(6, 1) CHECK (annual_days > 0 AND annual_days % 0.5 = 0);
-- Days taken of an unpaid type are deducted from pay by payroll.
ALTER TABLE leave_types ADD COLUMN unpaid boolean NOT NULL DEFAULT false;

-- Down Migration

ALTER TABLE leave_types DROP COLUMN unpaid;
ALTER TABLE leave_types DROP COLUMN annual_days;
DROP INDEX employees_status;
DROP INDEX employees_department;
ALTER TABLE employees DROP COLUMN status;
