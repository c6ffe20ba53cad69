-- Up Migration

-- Issue #21 item 1 (contract §11): recruitment. Jobs, their candidates and the candidates' stages
-- (domain/hr/recruitment.ts), interviews (each with a reminder run `interview-<int_id>`) and
-- offers (each an offer run `offer-<off_id>`, whose state is the offer's row).

CREATE TABLE jobs (
  id                text PRIMARY KEY,
  tenant_id         text NOT NULL,
  title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  department        text NOT NULL CHECK (length(department) BETWEEN 1 AND 200),
  hiring_manager_id text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT jobs_hiring_manager FOREIGN KEY (tenant_id, hiring_manager_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT jobs_tenant_id UNIQUE (tenant_id, id)
);

CREATE TABLE candidates (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL,
  job_id      text NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  stage       text NOT NULL DEFAULT 'applied'
    CHECK (stage IN ('applied', 'screening', 'interview', 'offer', 'hired', 'rejected', 'withdrawn')),
  -- [{at, from, to, actor_id}], oldest first (the first entry: applied, from null).
  history     jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(history) = 'array'),
  -- Set with stage = 'hired', by the accepted offer's hire step.
  employee_id text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT candidates_job FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
  CONSTRAINT candidates_employee FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT candidates_hired_employee CHECK ((stage = 'hired') = (employee_id IS NOT NULL)),
  CONSTRAINT candidates_tenant_id UNIQUE (tenant_id, id)
);
-- A job's candidates, newest first.
CREATE INDEX candidates_job ON candidates (tenant_id, job_id, id);

CREATE TABLE interviews (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL,
  candidate_id   text NOT NULL,
  interviewer_id text NOT NULL,
  at             timestamptz NOT NULL,
  rating         smallint CHECK (rating BETWEEN 1 AND 5),
  notes          text CHECK (length(notes) <= 5000),
  feedback_at    timestamptz,
  -- When the reminder run sent the interviewer their reminder (its outbox event).
  reminded_at    timestamptz,
  -- The start reconciler's mark (store/start-requests.ts, kind `interview`).
  run_seen_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT interviews_candidate FOREIGN KEY (tenant_id, candidate_id) REFERENCES candidates (tenant_id, id),
  CONSTRAINT interviews_interviewer FOREIGN KEY (tenant_id, interviewer_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT interviews_feedback_whole CHECK ((rating IS NULL) = (feedback_at IS NULL))
);
CREATE INDEX interviews_candidate ON interviews (tenant_id, candidate_id, id);
CREATE INDEX interviews_unstarted ON interviews (created_at) WHERE reminded_at IS NULL AND feedback_at IS NULL AND run_seen_at IS NULL;

CREATE TABLE offers (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL,
  candidate_id  text NOT NULL,
  annual_salary bigint NOT NULL CHECK (annual_salary BETWEEN 1 AND 1000000000000),
  currency      char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  start_date    date NOT NULL,
  expires_at    timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'awaiting_approval'
    CHECK (status IN ('awaiting_approval', 'awaiting_candidate', 'accepted', 'declined', 'rejected', 'expired')),
  -- The hiring manager's manager when the offer was made; null: nobody above (approved at once).
  approver_id   text,
  created_by    text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  -- [{at, action, actor_id}], oldest first.
  history       jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(history) = 'array'),
  -- The employee the acceptance created, and the hire step's key (`offer-<id>:hire`).
  employee_id   text,
  hire_key      text,
  run_seen_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT offers_candidate FOREIGN KEY (tenant_id, candidate_id) REFERENCES candidates (tenant_id, id),
  CONSTRAINT offers_approver FOREIGN KEY (tenant_id, approver_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT offers_employee FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
  CONSTRAINT offers_accepted_employee CHECK ((status = 'accepted') = (employee_id IS NOT NULL))
);
-- One live offer per candidate (a rejected, declined or expired one may be followed by another).
CREATE UNIQUE INDEX offers_live_unique ON offers (tenant_id, candidate_id) WHERE status IN ('awaiting_approval', 'awaiting_candidate', 'accepted');
CREATE INDEX offers_unstarted ON offers (created_at) WHERE status = 'awaiting_approval' AND run_seen_at IS NULL;

-- Down Migration

DROP TABLE offers;
DROP TABLE interviews;
DROP TABLE candidates;
DROP TABLE jobs;
