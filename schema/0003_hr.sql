-- Up Migration

-- GiST over plain equality (tenant_id, employee_id) for the no-overlap exclusion constraint below.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Foreign keys between HR tables go through (tenant_id, id): a row can never point at another
-- tenant's employee, leave type or request, whatever the code does.
CREATE TABLE employees (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  employee_number text NOT NULL CHECK (length(employee_number) BETWEEN 1 AND 64),
  first_name      text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 200),
  last_name       text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 200),
  email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 320 AND email LIKE '%_@_%'),
  department      text NOT NULL CHECK (length(department) BETWEEN 1 AND 200),
  manager_id      text,
  hire_date       date NOT NULL,
  country         char(2) CHECK (country ~ '^[A-Z]{2}$'),
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- Also the index of "a tenant's employees, by id".
  CONSTRAINT employees_tenant_id UNIQUE (tenant_id, id),
  CONSTRAINT employees_number_unique UNIQUE (tenant_id, employee_number),
  CONSTRAINT employees_manager FOREIGN KEY (tenant_id, manager_id) REFERENCES employees (tenant_id, id),
  -- Longer cycles are refused by setManager (activities/hr/employees.ts) under a per-tenant lock.
  CONSTRAINT employees_not_own_manager CHECK (manager_id <> id)
);
CREATE UNIQUE INDEX employees_email_unique ON employees (tenant_id, lower(email));
-- Direct reports (the org chart walks down it).
CREATE INDEX employees_manager ON employees (tenant_id, manager_id);

CREATE TABLE leave_types (
  tenant_id            text NOT NULL REFERENCES tenants (id),
  code                 text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,64}$'),
  name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  allow_half_day       boolean NOT NULL DEFAULT true,
  -- Working days one request may take at most (null: no limit).
  max_consecutive_days numeric(6, 1) CHECK (max_consecutive_days > 0 AND max_consecutive_days % 0.5 = 0),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, code)
);

-- country NULL: a holiday for every employee of the tenant; else for employees of that country.
CREATE TABLE holidays (
  tenant_id  text NOT NULL REFERENCES tenants (id),
  date       date NOT NULL,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  country    char(2) CHECK (country ~ '^[A-Z]{2}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- One holiday per date and country (the global one counts as its own "country"); also the
-- index for "holidays of a tenant between two dates".
CREATE UNIQUE INDEX holidays_unique ON holidays (tenant_id, date, coalesce(country, ''));

-- The time a request takes off, in half-day precision: a morning ([d, d 12:00)) and an afternoon
-- ([d 12:00, d+1)) of the same date do not overlap; full days cover [start, end + 1).
-- domain/hr/working-days.ts `overlaps` is the same rule in code.
CREATE FUNCTION leave_period(start_date date, end_date date, half_day text) RETURNS tsrange
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN tsrange(
    start_date + CASE WHEN half_day = 'pm' THEN interval '12 hours' ELSE interval '0' END,
    end_date + CASE WHEN half_day = 'am' THEN interval '12 hours' ELSE interval '1 day' END,
    '[)');

CREATE TABLE leave_requests (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL,
  employee_id text NOT NULL,
  leave_type  text NOT NULL,
  start_date  date NOT NULL,
  end_date    date NOT NULL,
  half_day    text CHECK (half_day IN ('am', 'pm')),
  days        numeric(6, 1) NOT NULL CHECK (days > 0 AND days % 0.5 = 0),
  reason      text CHECK (length(reason) <= 1000),
  status      text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled', 'expired')),
  -- The employee's manager at request time, later their manager's manager on escalation; null:
  -- nobody to ask (approved at once by the workflow).
  approver_id text,
  -- [{at, action, actor_id?, comment?, status, approver_id?, previous_approver_id?}], oldest first.
  history     jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(history) = 'array'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  -- The employee's tenant is the request's tenant (no separate foreign key to tenants).
  CONSTRAINT leave_requests_employee FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT leave_requests_approver FOREIGN KEY (tenant_id, approver_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT leave_requests_leave_type FOREIGN KEY (tenant_id, leave_type) REFERENCES leave_types (tenant_id, code),
  CONSTRAINT leave_requests_tenant_id UNIQUE (tenant_id, id),
  CONSTRAINT leave_requests_dates CHECK (start_date <= end_date),
  CONSTRAINT leave_requests_half_day_shape CHECK (half_day IS NULL OR (start_date = end_date AND days = 0.5)),
  CONSTRAINT leave_requests_not_self_approved CHECK (approver_id <> employee_id),
  -- Two live requests of one employee never share time off, whatever the concurrency: the
  -- second insert waits for the first to commit, then fails with SQLSTATE 23P01.
  CONSTRAINT leave_requests_no_overlap EXCLUDE USING gist (
    tenant_id WITH =, employee_id WITH =, leave_period(start_date, end_date, half_day) WITH &&
  ) WHERE (status IN ('pending', 'approved'))
);
-- GET /v1/leave-requests (newest first), by employee, and the approver's inbox.
CREATE INDEX leave_requests_employee_id ON leave_requests (tenant_id, employee_id, id);
CREATE INDEX leave_requests_inbox ON leave_requests (tenant_id, approver_id, status, id);

-- The leave ledger: every change to a balance is an immutable row; balances are sums of rows
-- (the leave_balances view), never a counter. Signs: allocation and reservation > 0; a
-- reservation_release < 0 takes a reservation back; usage > 0 consumes days, usage < 0 returns
-- them (cancel of an approved leave). available = allocated − used − reserved.
CREATE TABLE leave_ledger (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL,
  employee_id      text NOT NULL,
  leave_type       text NOT NULL,
  year             int NOT NULL CHECK (year BETWEEN 1900 AND 9999),
  kind             text NOT NULL CHECK (kind IN ('allocation', 'reservation', 'reservation_release', 'usage')),
  days             numeric(6, 1) NOT NULL CHECK (days <> 0 AND days % 0.5 = 0),
  leave_request_id text,
  idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  created_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT leave_ledger_idempotency UNIQUE (tenant_id, idempotency_key),
  CONSTRAINT leave_ledger_employee FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT leave_ledger_leave_type FOREIGN KEY (tenant_id, leave_type) REFERENCES leave_types (tenant_id, code),
  CONSTRAINT leave_ledger_request FOREIGN KEY (tenant_id, leave_request_id) REFERENCES leave_requests (tenant_id, id),
  CONSTRAINT leave_ledger_sign CHECK (
    (kind IN ('allocation', 'reservation') AND days > 0)
    OR (kind = 'reservation_release' AND days < 0)
    OR kind = 'usage'),
  CONSTRAINT leave_ledger_request_shape CHECK ((kind = 'allocation') = (leave_request_id IS NULL))
);
-- Each request reserves once, releases once, uses once and returns once at most: a retried or
-- concurrent move can never count twice (the sign tells a use from a return).
CREATE UNIQUE INDEX leave_ledger_once_per_request ON leave_ledger (leave_request_id, kind, (days > 0))
  WHERE leave_request_id IS NOT NULL;
-- Balances: an employee's rows of one year.
CREATE INDEX leave_ledger_balance ON leave_ledger (tenant_id, employee_id, year, leave_type);
CREATE TRIGGER leave_ledger_append_only BEFORE UPDATE OR DELETE ON leave_ledger
  FOR EACH ROW EXECUTE FUNCTION steadfast_forbid_mutation();
CREATE TRIGGER leave_ledger_no_truncate BEFORE TRUNCATE ON leave_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION steadfast_forbid_mutation();

-- The one definition of a balance. Filter on tenant_id, employee_id and year (the grouping
-- columns): PostgreSQL pushes those into the scan.
CREATE VIEW leave_balances AS
SELECT tenant_id, employee_id, leave_type, year,
       coalesce(sum(days) FILTER (WHERE kind = 'allocation'), 0) AS allocated,
       coalesce(sum(days) FILTER (WHERE kind = 'usage'), 0) AS used,
       coalesce(sum(days) FILTER (WHERE kind IN ('reservation', 'reservation_release')), 0) AS reserved,
       coalesce(sum(days) FILTER (WHERE kind = 'allocation'), 0)
         - coalesce(sum(days) FILTER (WHERE kind <> 'allocation'), 0) AS available
FROM leave_ledger
GROUP BY tenant_id, employee_id, leave_type, year;

-- Down Migration
DROP VIEW leave_balances;
DROP TABLE leave_ledger, leave_requests, holidays, leave_types, employees;
DROP FUNCTION leave_period(date, date, text);
-- btree_gist stays: it may have been there before this migration, and other schemas may use it.
