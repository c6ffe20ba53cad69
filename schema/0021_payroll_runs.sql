-- Up Migration

-- Issue #19 item 3 (contract §9): the payroll run, a workflow (workflows/payroll/payroll-run.ts)
-- whose state is these rows. Amounts are minor units of the line's currency.

CREATE TABLE payroll_runs (
  id                 text PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants (id),
  period             char(7) NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  pay_date           date NOT NULL,
  funding_account_id text NOT NULL REFERENCES accounts (id),
  status             text NOT NULL DEFAULT 'calculating' CHECK (status IN
                       ('calculating', 'awaiting_approval', 'paying', 'paid', 'partially_failed', 'failed', 'cancelled')),
  gross              bigint NOT NULL DEFAULT 0 CHECK (gross >= 0),
  tax                bigint NOT NULL DEFAULT 0 CHECK (tax >= 0),
  contributions      bigint NOT NULL DEFAULT 0 CHECK (contributions >= 0),
  net                bigint NOT NULL DEFAULT 0 CHECK (net >= 0),
  lines_count        int NOT NULL DEFAULT 0 CHECK (lines_count >= 0),
  created_by         text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  approved_by        text CHECK (length(approved_by) BETWEEN 1 AND 200),
  approved_at        timestamptz,
  cancelled_by       text CHECK (length(cancelled_by) BETWEEN 1 AND 200),
  failure_code       text,
  failure_message    text CHECK (length(failure_message) <= 2000),
  -- The first line paid: from then on the run can no longer be cancelled.
  paying_started_at  timestamptz,
  -- The start reconciler's mark (store/start-requests.ts): the run's workflow was found or started.
  run_seen_at        timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  -- Four eyes: whoever approves did not create the run (the API and the workflow check it first).
  CONSTRAINT payroll_runs_four_eyes CHECK (approved_by IS NULL OR approved_by <> created_by),
  CONSTRAINT payroll_runs_totals CHECK (net = gross - tax - contributions),
  CONSTRAINT payroll_runs_tenant_id UNIQUE (tenant_id, id)
);
-- One live run per tenant and period (`409 resource_exists`). A failed or cancelled run paid nobody
-- (failed: the funding account could not hold the net; cancelled: before the first payment), so
-- another run for the period is allowed after one.
CREATE UNIQUE INDEX payroll_runs_period_unique ON payroll_runs (tenant_id, period) WHERE status NOT IN ('failed', 'cancelled');
CREATE INDEX payroll_runs_unstarted ON payroll_runs (created_at) WHERE status = 'calculating' AND run_seen_at IS NULL;

-- One line per employee with a compensation in effect during the period. `seq` (1..lines_count)
-- splits the run into batches the workflow pays without carrying employee ids in its history.
CREATE TABLE payroll_lines (
  run_id              text NOT NULL,
  tenant_id           text NOT NULL,
  period              char(7) NOT NULL,
  employee_id         text NOT NULL,
  seq                 int NOT NULL CHECK (seq >= 1),
  currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  prorated_gross      bigint NOT NULL CHECK (prorated_gross >= 0),
  unpaid_days         numeric(5, 1) NOT NULL CHECK (unpaid_days >= 0 AND unpaid_days % 0.5 = 0),
  unpaid_deduction    bigint NOT NULL CHECK (unpaid_deduction >= 0),
  leave_payout_days   numeric(6, 1) NOT NULL CHECK (leave_payout_days >= 0 AND leave_payout_days % 0.5 = 0),
  leave_payout        bigint NOT NULL CHECK (leave_payout >= 0),
  gross               bigint NOT NULL CHECK (gross >= 0),
  tax                 bigint NOT NULL CHECK (tax >= 0),
  -- [{code, amount}] in the rules' order.
  contributions       jsonb NOT NULL CHECK (jsonb_typeof(contributions) = 'array'),
  contributions_total bigint NOT NULL CHECK (contributions_total >= 0),
  net                 bigint NOT NULL CHECK (net >= 0),
  status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed')),
  -- The line's share of the net held on the funding account at approval (null: nothing to hold).
  hold_id             text REFERENCES holds (id),
  transfer_id         text REFERENCES transfers (id),
  failure_code        text,
  paid_at             timestamptz,
  PRIMARY KEY (run_id, employee_id),
  CONSTRAINT payroll_lines_run FOREIGN KEY (tenant_id, run_id) REFERENCES payroll_runs (tenant_id, id),
  CONSTRAINT payroll_lines_employee FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT payroll_lines_seq UNIQUE (run_id, seq),
  CONSTRAINT payroll_lines_net CHECK (net = gross - tax - contributions_total),
  CONSTRAINT payroll_lines_paid_shape CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
  CONSTRAINT payroll_lines_failed_shape CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
-- Nobody is paid twice for a period: whatever runs, retries or re-runs there are, one paid line
-- per tenant, period and employee (the last guard under the workflow's and the ledger's keys).
CREATE UNIQUE INDEX payroll_lines_paid_once ON payroll_lines (tenant_id, period, employee_id) WHERE status = 'paid';

-- Down Migration

DROP TABLE payroll_lines;
DROP TABLE payroll_runs;
