-- Up Migration

-- Issue #21 items 2-4 (contract §11): performance review cycles. A cycle is one workflow
-- (workflows/hr/review-cycle.ts, `review-cycle-<rc_id>`) whose state is these rows: it opens one
-- review per active employee in one INSERT … SELECT, sleeps to the reminder times and due dates,
-- and is closed by an Update. Submissions are plain API writes guarded by the review's status.

CREATE TABLE review_cycles (
  id                 text PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants (id),
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  period_start       date NOT NULL,
  period_end         date NOT NULL,
  self_review_due    timestamptz NOT NULL,
  manager_review_due timestamptz NOT NULL,
  -- The employees the cycle is for (null: every active employee when it opens).
  employee_ids       text[],
  status             text NOT NULL DEFAULT 'opening' CHECK (status IN ('opening', 'open', 'closed')),
  reviews_count      int NOT NULL DEFAULT 0 CHECK (reviews_count >= 0),
  opened_at          timestamptz,
  closed_at          timestamptz,
  closed_by          text CHECK (length(closed_by) BETWEEN 1 AND 200),
  -- The start reconciler's mark (store/start-requests.ts): the cycle's workflow was found or started.
  run_seen_at        timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT review_cycles_period CHECK (period_start <= period_end),
  CONSTRAINT review_cycles_due_order CHECK (self_review_due <= manager_review_due),
  CONSTRAINT review_cycles_open_shape CHECK ((status = 'opening') = (opened_at IS NULL)),
  CONSTRAINT review_cycles_closed_shape CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
  CONSTRAINT review_cycles_tenant_id UNIQUE (tenant_id, id)
);
CREATE INDEX review_cycles_unstarted ON review_cycles (created_at) WHERE status = 'opening' AND run_seen_at IS NULL;

-- One review per cycle and employee. `reviewer_id` is the employee's manager when the cycle opened,
-- moved by a manager change or a termination, or escalated to the manager's manager when overdue.
-- `department` is the employee's when the cycle opened: the summary groups by it.
CREATE TABLE reviews (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  cycle_id        text NOT NULL,
  employee_id     text NOT NULL,
  reviewer_id     text,
  department      text NOT NULL,
  status          text NOT NULL DEFAULT 'awaiting_self' CHECK (status IN
                    ('awaiting_self', 'awaiting_manager', 'completed', 'incomplete', 'cancelled')),
  self_rating     smallint CHECK (self_rating BETWEEN 1 AND 5),
  self_answers    jsonb CHECK (jsonb_typeof(self_answers) = 'object'),
  self_submitted_at timestamptz,
  manager_rating  smallint CHECK (manager_rating BETWEEN 1 AND 5),
  manager_comments text CHECK (length(manager_comments) <= 5000),
  manager_submitted_by text,
  manager_submitted_at timestamptz,
  -- Set at close: the manager's rating of a completed review (null otherwise).
  final_rating    smallint CHECK (final_rating BETWEEN 1 AND 5),
  escalated_from  text,
  escalated_at    timestamptz,
  cancelled_reason text CHECK (length(cancelled_reason) <= 500),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT reviews_cycle FOREIGN KEY (tenant_id, cycle_id) REFERENCES review_cycles (tenant_id, id),
  CONSTRAINT reviews_employee FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT reviews_reviewer FOREIGN KEY (tenant_id, reviewer_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT reviews_one_per_employee UNIQUE (cycle_id, employee_id),
  CONSTRAINT reviews_self_shape CHECK ((self_rating IS NULL) = (self_submitted_at IS NULL)),
  CONSTRAINT reviews_manager_shape CHECK ((manager_rating IS NULL) = (manager_submitted_at IS NULL)),
  CONSTRAINT reviews_completed_shape CHECK (status <> 'completed' OR manager_rating IS NOT NULL),
  CONSTRAINT reviews_final_shape CHECK (final_rating IS NULL OR final_rating = manager_rating)
);
-- The cycle's list (by id) and its sweeps by status; the hooks by employee and by reviewer.
CREATE INDEX reviews_cycle ON reviews (cycle_id, id);
CREATE INDEX reviews_employee_open ON reviews (tenant_id, employee_id) WHERE status IN ('awaiting_self', 'awaiting_manager');
CREATE INDEX reviews_reviewer_open ON reviews (tenant_id, reviewer_id) WHERE status IN ('awaiting_self', 'awaiting_manager');

-- Down Migration

DROP TABLE reviews;
DROP TABLE review_cycles;
