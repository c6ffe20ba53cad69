-- Up Migration

-- Issue #12, "Ambiguous start" and "Row without a run".
--
-- `request_key`: the client's Idempotency-Key, when it sent one. A retry with the same key (after
-- a 5xx, or after the API died between the insert and the workflow start) adopts the row the
-- first attempt wrote instead of writing a second one: one business object per key, so one
-- workflow id, so money moves once. NULL (no key) never conflicts.
--
-- `run_seen_at`: when the start reconciler (workers/start-reconciler.ts) last confirmed that the
-- row has its workflow run (it found the run, or started it). Rows in their initial status older
-- than RECONCILE_AFTER_MS with no `run_seen_at` are what the reconciler looks at; the API writes
-- nothing here, so the hot path pays nothing for it.

ALTER TABLE transfers
  ADD COLUMN request_key text CHECK (length(request_key) BETWEEN 1 AND 255),
  ADD COLUMN run_seen_at timestamptz,
  ADD CONSTRAINT transfers_request_key UNIQUE (tenant_id, request_key);
CREATE INDEX transfers_unstarted ON transfers (created_at) WHERE status = 'pending' AND run_seen_at IS NULL;

ALTER TABLE topups
  ADD COLUMN request_key text CHECK (length(request_key) BETWEEN 1 AND 255),
  ADD COLUMN run_seen_at timestamptz,
  ADD CONSTRAINT topups_request_key UNIQUE (tenant_id, request_key);
CREATE INDEX topups_unstarted ON topups (created_at) WHERE status = 'pending' AND run_seen_at IS NULL;

ALTER TABLE payments
  ADD COLUMN request_key text CHECK (length(request_key) BETWEEN 1 AND 255),
  ADD COLUMN run_seen_at timestamptz,
  ADD CONSTRAINT payments_request_key UNIQUE (tenant_id, request_key);
CREATE INDEX payments_unstarted ON payments (created_at) WHERE status = 'initiated' AND run_seen_at IS NULL;

-- Notifications an outbox event created (`source_key`) are started by their domainEvent run, a
-- durable parent: the reconciler leaves them to it.
ALTER TABLE notifications
  ADD COLUMN request_key text CHECK (length(request_key) BETWEEN 1 AND 255),
  ADD COLUMN run_seen_at timestamptz,
  ADD CONSTRAINT notifications_request_key UNIQUE (tenant_id, request_key);
CREATE INDEX notifications_unstarted ON notifications (created_at)
  WHERE status IN ('scheduled', 'processing') AND source_key IS NULL AND run_seen_at IS NULL;

ALTER TABLE leave_requests ADD COLUMN run_seen_at timestamptz;
CREATE INDEX leave_requests_unstarted ON leave_requests (created_at) WHERE status = 'pending' AND run_seen_at IS NULL;

-- A dead letter requeued by ops (`queued`, retries > 0) before its `dead-letter-retry-<id>-<n>` run
-- starts; each requeue clears the mark (store/notifications/deliveries.ts requeueDeadLetter).
ALTER TABLE deliveries ADD COLUMN run_seen_at timestamptz;
CREATE INDEX deliveries_unstarted_retries ON deliveries (updated_at) WHERE status = 'queued' AND retries > 0 AND run_seen_at IS NULL;

-- Down Migration

DROP INDEX deliveries_unstarted_retries;
ALTER TABLE deliveries DROP COLUMN run_seen_at;
DROP INDEX leave_requests_unstarted;
ALTER TABLE leave_requests DROP COLUMN run_seen_at;
DROP INDEX notifications_unstarted;
ALTER TABLE notifications DROP CONSTRAINT notifications_request_key, DROP COLUMN request_key, DROP COLUMN run_seen_at;
DROP INDEX payments_unstarted;
ALTER TABLE payments DROP CONSTRAINT payments_request_key, DROP COLUMN request_key, DROP COLUMN run_seen_at;
DROP INDEX topups_unstarted;
ALTER TABLE topups DROP CONSTRAINT topups_request_key, DROP COLUMN request_key, DROP COLUMN run_seen_at;
DROP INDEX transfers_unstarted;
ALTER TABLE transfers DROP CONSTRAINT transfers_request_key, DROP COLUMN request_key, DROP COLUMN run_seen_at;
