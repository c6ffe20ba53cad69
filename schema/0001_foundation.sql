-- Up Migration

-- Tenants own every resource. API keys are stored as SHA-256 digests only (the key is shown once).
CREATE TABLE tenants (
  id            text PRIMARY KEY,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  api_key_hash  text NOT NULL UNIQUE,
  api_key_last4 text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Accounts carry the posted balance and the sum of active holds, both maintained in the same
-- transaction as the entries/holds that change them. The audit re-derives both from the rows.
CREATE TABLE accounts (
  id                  text PRIMARY KEY,
  tenant_id           text NOT NULL REFERENCES tenants (id),
  type                text NOT NULL CHECK (type IN ('user', 'merchant', 'system')),
  currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  owner_id            text,
  per_transaction_max bigint CHECK (per_transaction_max > 0),
  daily_debit_max     bigint CHECK (daily_debit_max > 0),
  metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
  balance             bigint NOT NULL DEFAULT 0,
  held                bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
  created_at          timestamptz NOT NULL DEFAULT now(),
  -- The last line of defence against overdraft: user accounts never spend more than they have.
  CONSTRAINT accounts_user_no_overdraft CHECK (type <> 'user' OR balance - held >= 0)
);
CREATE INDEX accounts_tenant_id ON accounts (tenant_id, id);
CREATE UNIQUE INDEX accounts_one_system_per_currency ON accounts (tenant_id, currency) WHERE type = 'system';

-- A ledger transaction groups entries whose debits equal their credits (per currency).
-- No foreign key to tenants on the high-volume ledger tables: every concurrent insert would take
-- a KEY SHARE lock on the same tenant row (MultiXacts). The tenant is the accounts' tenant
-- (checked under the account locks), and tenants are never deleted.
CREATE TABLE ledger_transactions (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  kind            text NOT NULL,
  reference_id    text,
  hold_id         text,  -- set when this transaction posts a hold (audit: at most one per hold)
  created_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ledger_transactions_idempotency UNIQUE (tenant_id, idempotency_key)
);

CREATE UNIQUE INDEX ledger_transactions_one_post_per_hold ON ledger_transactions (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE ledger_entries (
  id             text PRIMARY KEY,
  transaction_id text NOT NULL REFERENCES ledger_transactions (id),
  account_id     text NOT NULL REFERENCES accounts (id),
  direction      text NOT NULL CHECK (direction IN ('debit', 'credit')),
  amount         bigint NOT NULL CHECK (amount > 0),
  currency       char(3) NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
-- No index on transaction_id: entries are read by account (the hot path); the audit scans them all.

-- Holds reserve funds; each resolves exactly once (posted in full or in part, or voided).
CREATE TABLE holds (
  id                        text PRIMARY KEY,
  tenant_id                 text NOT NULL,
  account_id                text NOT NULL REFERENCES accounts (id),
  amount                    bigint NOT NULL CHECK (amount > 0),
  currency                  char(3) NOT NULL,
  idempotency_key           text NOT NULL,
  status                    text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'posted', 'voided')),
  posted_amount             bigint,
  resolution_transaction_id text REFERENCES ledger_transactions (id),
  created_at                timestamptz NOT NULL DEFAULT now(),
  resolved_at               timestamptz,
  CONSTRAINT holds_idempotency UNIQUE (tenant_id, idempotency_key),
  CONSTRAINT holds_resolved_once CHECK ((status = 'active') = (resolved_at IS NULL)),
  CONSTRAINT holds_posted_shape CHECK (
    (status = 'posted' AND resolution_transaction_id IS NOT NULL AND posted_amount BETWEEN 1 AND amount)
    OR (status <> 'posted' AND resolution_transaction_id IS NULL AND posted_amount IS NULL))
);
-- At most one posting transaction per hold: ledger_transactions_one_post_per_hold. Entry ids are
-- ULIDs (time-ordered), so ledger_entries_account (account_id, id) also serves "today's debits".

-- Entries and transactions are immutable: corrections are new transactions, never edits.
CREATE FUNCTION steadfast_forbid_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION steadfast_forbid_mutation();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION steadfast_forbid_mutation();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION steadfast_forbid_mutation();

CREATE TABLE topups (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  account_id      text NOT NULL REFERENCES accounts (id),
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        char(3) NOT NULL,
  source_type     text NOT NULL,
  source_token    text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  failure_code    text,
  bank_reference  text,
  transaction_id  text REFERENCES ledger_transactions (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topups_tenant ON topups (tenant_id, id);

CREATE TABLE transfers (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  from_account_id text NOT NULL REFERENCES accounts (id),
  to_account_id   text NOT NULL REFERENCES accounts (id),
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        char(3) NOT NULL,
  description     text,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  failure_code    text,
  hold_id         text REFERENCES holds (id),
  transaction_id  text REFERENCES ledger_transactions (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT transfers_distinct_accounts CHECK (from_account_id <> to_account_id)
);
CREATE INDEX transfers_tenant ON transfers (tenant_id, id);

-- Durable idempotency records (Redis only caches finished ones). `scope` is a tenant id or 'admin'.
CREATE TABLE idempotency_keys (
  scope           text NOT NULL,
  key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method          text NOT NULL,
  path            text NOT NULL,
  request_hash    text NOT NULL,
  status          text NOT NULL CHECK (status IN ('in_flight', 'done')),
  response_status int,
  response_body   text,
  locked_at       timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- The simulated bank's own books (it stands for an outside system; see activities/bank).
CREATE TABLE sim_bank_pulls (
  idempotency_key text PRIMARY KEY,
  token           text NOT NULL,
  amount          bigint NOT NULL,
  currency        char(3) NOT NULL,
  attempts        int NOT NULL DEFAULT 1,
  status          text NOT NULL CHECK (status IN ('failing', 'succeeded', 'declined', 'refunded')),
  reference       text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE sim_bank_pulls, idempotency_keys, transfers, topups, holds, ledger_entries,
  ledger_transactions, accounts, tenants;
DROP FUNCTION steadfast_forbid_mutation();
