-- Up Migration

-- Issue #19 (contract §9): offboarding. `POST /v1/employees/:id/terminate` stores the last day
-- employed (inclusive) and the reason; the offboarding workflow sets `status = 'terminated'` once
-- that day is over. Payroll reads `termination_date` (proration, leave payout).
ALTER TABLE employees
  ADD COLUMN termination_date date,
  ADD COLUMN termination_reason text CHECK (length(termination_reason) <= 1000),
  -- The Idempotency-Key of the request that scheduled the termination: a retry of that request
  -- (its first answer lost) adopts the termination and its run instead of answering 409.
  ADD COLUMN termination_request_key text CHECK (length(termination_request_key) <= 255),
  -- When the termination was scheduled, and the start reconciler's mark that its offboarding run
  -- was found or started (store/start-requests.ts, kind `offboarding`).
  ADD COLUMN termination_requested_at timestamptz,
  ADD COLUMN run_seen_at timestamptz,
  ADD CONSTRAINT employees_termination_after_hire CHECK (termination_date >= hire_date);
CREATE INDEX employees_offboarding_unstarted ON employees (termination_requested_at)
  WHERE termination_date IS NOT NULL AND status = 'active' AND run_seen_at IS NULL;

-- Down Migration

DROP INDEX employees_offboarding_unstarted;
ALTER TABLE employees
  DROP CONSTRAINT employees_termination_after_hire,
  DROP COLUMN run_seen_at,
  DROP COLUMN termination_requested_at,
  DROP COLUMN termination_request_key,
  DROP COLUMN termination_reason,
  DROP COLUMN termination_date;
