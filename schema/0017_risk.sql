-- Up Migration

-- Issue #18, contract §8: fraud scoring and manual review.

-- A tenant's risk settings as `PUT /v1/risk/settings` left them: the thresholds and the rules'
-- parameters, merged over the defaults (domain/risk/settings.ts) on every read. No row: the defaults.
CREATE TABLE risk_settings (
  tenant_id  text PRIMARY KEY REFERENCES tenants (id),
  settings   jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The block list: payee accounts and card tokens (processor tokens, never card numbers).
CREATE TABLE risk_blocklist (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants (id),
  type       text NOT NULL CHECK (type IN ('account', 'card_token')),
  value      text NOT NULL CHECK (length(value) BETWEEN 1 AND 255),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT risk_blocklist_value UNIQUE (tenant_id, type, value)
);
CREATE INDEX risk_blocklist_tenant ON risk_blocklist (tenant_id, id);

-- A transfer or payment the score sent to review: open until a person decides it (through the
-- workflow's `decideReview` Update) or RISK_REVIEW_TIMEOUT expires it. Decided once.
CREATE TABLE risk_reviews (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id),
  object_type   text NOT NULL CHECK (object_type IN ('transfer', 'payment')),
  object_id     text NOT NULL,
  workflow_id   text NOT NULL,
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'declined', 'expired')),
  score         int NOT NULL CHECK (score BETWEEN 0 AND 100),
  rules         jsonb NOT NULL,
  amount        bigint NOT NULL CHECK (amount > 0),
  currency      char(3) NOT NULL,
  expires_at    timestamptz NOT NULL,
  decided_by    text,
  note          text,
  decided_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT risk_reviews_one_per_object UNIQUE (object_type, object_id),
  CONSTRAINT risk_reviews_decided_shape CHECK ((status = 'open') = (decided_at IS NULL))
);
CREATE INDEX risk_reviews_tenant_status ON risk_reviews (tenant_id, status, id);
CREATE INDEX risk_reviews_tenant ON risk_reviews (tenant_id, id);

-- The verdict on the object (`risk` in the API); NULL for objects scored before this release.
ALTER TABLE transfers ADD COLUMN risk jsonb;
ALTER TABLE payments ADD COLUMN risk jsonb;

-- A transfer in review holds its funds and is `in_review` until decided.
ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_status_check CHECK (status IN ('pending', 'in_review', 'succeeded', 'failed'));

-- The live aggregates the scoring reads (store/risk/signals.ts), each an index range:
-- money from a payer to a payee before (new_counterparty);
CREATE INDEX transfers_payer_payee ON transfers (from_account_id, to_account_id) WHERE status = 'succeeded';
-- a card token's recent payments (velocity, card testing) and its earlier payments to a merchant;
CREATE INDEX payments_card_token ON payments (tenant_id, payment_method_token, created_at) INCLUDE (amount, status, failure_code)
  WHERE payment_method_token IS NOT NULL;
-- a wallet's payments to a merchant before;
CREATE INDEX payments_wallet_merchant ON payments (wallet_account_id, merchant_account_id) WHERE wallet_account_id IS NOT NULL;
-- the funds a payer has reserved now (a burst of transfers counts before it posts).
CREATE INDEX holds_account_active ON holds (account_id) INCLUDE (amount, created_at) WHERE status = 'active';
-- recent top-ups of an account.
CREATE INDEX topups_account_time ON topups (account_id, created_at) INCLUDE (amount) WHERE status = 'succeeded';

-- Down Migration

DROP INDEX topups_account_time;
DROP INDEX holds_account_active;
DROP INDEX payments_wallet_merchant;
DROP INDEX payments_card_token;
DROP INDEX transfers_payer_payee;
ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
UPDATE transfers SET status = 'pending' WHERE status = 'in_review';
ALTER TABLE transfers ADD CONSTRAINT transfers_status_check CHECK (status IN ('pending', 'succeeded', 'failed'));
ALTER TABLE payments DROP COLUMN risk;
ALTER TABLE transfers DROP COLUMN risk;
DROP TABLE risk_reviews;
DROP TABLE risk_blocklist;
DROP TABLE risk_settings;
