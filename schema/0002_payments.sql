-- Up Migration

-- A settlement batch is one window of the scheduled settlement run; UNIQUE (window) so a window
-- settles once. Re-running a window adds the payments the last run skipped (locked or over the
-- batch limit) to the same batch. `totals`: {"USD": {"payment_count", "amount_captured",
-- "amount_refunded"}}, amounts as they were when each payment settled.
CREATE TABLE settlement_batches (
  id           text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  window_end   timestamptz NOT NULL,
  totals       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT settlement_batches_window UNIQUE (window_start, window_end),
  CONSTRAINT settlement_batches_window_order CHECK (window_start < window_end)
);

-- The current state of each payment: a projection of its event log, written in the same
-- transaction as each event (version = the sequence of the latest event).
CREATE TABLE payments (
  id                   text PRIMARY KEY,
  tenant_id            text NOT NULL REFERENCES tenants (id),
  merchant_account_id  text NOT NULL REFERENCES accounts (id),
  amount               bigint NOT NULL CHECK (amount BETWEEN 1 AND 1000000000000),
  currency             char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status               text NOT NULL DEFAULT 'initiated'
    CHECK (status IN ('initiated', 'authorized', 'captured', 'settled', 'failed', 'reversed', 'refunded')),
  amount_capturable    bigint NOT NULL DEFAULT 0 CHECK (amount_capturable >= 0),
  amount_captured      bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
  amount_refunded      bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  capture_method       text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
  payment_method_type  text NOT NULL CHECK (payment_method_type IN ('card', 'bank_transfer', 'wallet')),
  payment_method_brand text CHECK (length(payment_method_brand) BETWEEN 1 AND 40),
  payment_method_last4 text CHECK (payment_method_last4 ~ '^[0-9]{4}$'),
  -- A processor token (tok_…, btok_…), never a card number: 13+ digits in a row (spaces or
  -- dashes between them too) look like a PAN and are refused.
  payment_method_token text CHECK (length(payment_method_token) BETWEEN 1 AND 255
    AND payment_method_token !~ '([0-9][ -]?){12}[0-9]'),
  wallet_account_id    text REFERENCES accounts (id),
  processor            text,
  processor_reference  text,
  hold_id              text REFERENCES holds (id),
  failure_code         text,
  decline_code         text,
  description          text CHECK (length(description) <= 500),
  metadata             jsonb NOT NULL DEFAULT '{}'::jsonb,
  version              int NOT NULL DEFAULT 1 CHECK (version >= 1),
  settled_batch_id     text REFERENCES settlement_batches (id),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payments_amounts CHECK (
    amount_refunded <= amount_captured AND amount_capturable + amount_captured <= amount),
  -- A wallet payment names its wallet; the others carry a processor token.
  CONSTRAINT payments_method_shape CHECK (
    (payment_method_type = 'wallet' AND wallet_account_id IS NOT NULL AND payment_method_token IS NULL)
    OR (payment_method_type <> 'wallet' AND wallet_account_id IS NULL AND payment_method_token IS NOT NULL)),
  CONSTRAINT payments_captured_shape CHECK (status NOT IN ('captured', 'settled', 'refunded') OR amount_captured > 0),
  CONSTRAINT payments_refunded_shape CHECK (status <> 'refunded' OR amount_refunded = amount_captured),
  CONSTRAINT payments_settled_shape CHECK (status <> 'settled' OR settled_batch_id IS NOT NULL)
);
-- GET /v1/payments (newest first; ids are time-ordered ULIDs) and GET /v1/payments?status=.
CREATE INDEX payments_tenant ON payments (tenant_id, id);
CREATE INDEX payments_tenant_status ON payments (tenant_id, status, id);
-- The settlement run: captured (hence unsettled) payments, oldest first. Small: captured is a
-- transient status.
CREATE INDEX payments_unsettled ON payments (created_at, id) WHERE status = 'captured';
CREATE INDEX payments_settled_batch ON payments (settled_batch_id) WHERE settled_batch_id IS NOT NULL;
CREATE UNIQUE INDEX payments_one_per_hold ON payments (hold_id) WHERE hold_id IS NOT NULL;

-- The append-only event log of each payment. `idempotency_key` makes a retried transition a
-- no-op (the saga passes one per step). No foreign key to tenants: it is high-volume and every
-- insert would share-lock the one tenant row (see ledger_transactions).
CREATE TABLE payment_events (
  id              text PRIMARY KEY,
  payment_id      text NOT NULL REFERENCES payments (id),
  tenant_id       text NOT NULL,
  sequence        int NOT NULL CHECK (sequence >= 1),
  type            text NOT NULL CHECK (type ~ '^payment\.[a-z_]+$'),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  data            jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- Also the index for "events of a payment, in order".
  CONSTRAINT payment_events_sequence UNIQUE (payment_id, sequence),
  CONSTRAINT payment_events_idempotency UNIQUE (payment_id, idempotency_key)
);
CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE ON payment_events
  FOR EACH ROW EXECUTE FUNCTION steadfast_forbid_mutation();
CREATE TRIGGER payment_events_no_truncate BEFORE TRUNCATE ON payment_events
  FOR EACH STATEMENT EXECUTE FUNCTION steadfast_forbid_mutation();

-- Refunds are reserved (`pending`) under the payment row lock, so pending + refunded never exceed
-- the captured amount, then finish as `succeeded` (raising payments.amount_refunded) or `failed`.
CREATE TABLE refunds (
  id              text PRIMARY KEY,
  payment_id      text NOT NULL REFERENCES payments (id),
  tenant_id       text NOT NULL,
  amount          bigint NOT NULL CHECK (amount BETWEEN 1 AND 1000000000000),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  failure_code    text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT refunds_idempotency UNIQUE (payment_id, idempotency_key),
  CONSTRAINT refunds_failure_shape CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
CREATE INDEX refunds_payment ON refunds (payment_id, id);

-- Down Migration
DROP TABLE refunds, payment_events, payments, settlement_batches;
