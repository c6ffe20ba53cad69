-- Up Migration

-- Issue #19 item 2 (contract §9): effective-dated salaries and per-country payroll rules. The
-- arithmetic lives in domain/payroll (pure); these tables hold what it needs.

-- Where an employee's pay goes: a user account of the tenant in the salary currency (contract §9).
-- The tenant and the currency are checked by the code that links it (accounts have no
-- (tenant_id, id) key to point at). IF NOT EXISTS: the employees-management change (#19 item 1)
-- needs the same column; whichever migration runs first adds it.
ALTER TABLE employees ADD COLUMN IF NOT EXISTS wallet_account_id text REFERENCES accounts (id);

-- One row per salary change; the compensation in effect on a day is the row with the latest
-- effective_date on or before it. Rows are never updated: a correction is a new effective date.
CREATE TABLE compensations (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL,
  employee_id    text NOT NULL,
  effective_date date NOT NULL,
  -- Minor units of `currency` per year (contract §0 money: integers, never floats).
  annual_salary  bigint NOT NULL CHECK (annual_salary BETWEEN 1 AND 1000000000000),
  currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT compensations_employee FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
  -- Also the index of "the history of an employee by date" and of the effective-dated lookups.
  CONSTRAINT compensations_effective_unique UNIQUE (tenant_id, employee_id, effective_date)
);

-- The rules of one country: annual progressive tax brackets [{up_to, rate_bps}] (ascending, last
-- up_to null) and contributions [{code, rate_bps, cap?}] on the monthly gross, capped per month.
-- The shapes are checked by the API and domain/payroll/rules.ts; here only that they are arrays.
CREATE TABLE payroll_rules (
  tenant_id     text NOT NULL REFERENCES tenants (id),
  country       char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  currency      char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  tax_brackets  jsonb NOT NULL CHECK (jsonb_typeof(tax_brackets) = 'array' AND jsonb_array_length(tax_brackets) >= 1),
  contributions jsonb NOT NULL CHECK (jsonb_typeof(contributions) = 'array'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, country)
);

-- Down Migration

DROP TABLE payroll_rules;
DROP TABLE compensations;
ALTER TABLE employees DROP COLUMN IF EXISTS wallet_account_id;
