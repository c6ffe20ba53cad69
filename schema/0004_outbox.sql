-- Up Migration

-- The transactional outbox: domain events written in the same transaction as the change they
-- describe, consumed later by the notification relay (issue #5). Until then, rows wait here.
CREATE TABLE outbox (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  topic           text NOT NULL,
  idempotency_key text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  processed_at    timestamptz,
  CONSTRAINT outbox_idempotency UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX outbox_unprocessed ON outbox (created_at) WHERE processed_at IS NULL;

-- Down Migration
DROP TABLE outbox;
