-- Up Migration

-- Issue #18 item 4 (contract §2 "Currency conversion"). A quote fixes a rate (the FX provider's
-- less FX_SPREAD_BPS) and the amount it converts to, until `expires_at`. A transfer between
-- accounts of two currencies claims one quote, at most once: `used_by_transfer_id` is set in the
-- transaction that inserts the transfer (store/wallet/transfers.ts), only while it is unused and
-- unexpired. A transfer whose run definitely never started is deleted (nothing happened): its
-- claim goes with it (ON DELETE SET NULL), and `used_at` keeps when it was last claimed.
CREATE TABLE fx_quotes (
  id                  text PRIMARY KEY,
  tenant_id           text NOT NULL REFERENCES tenants (id),
  from_currency       char(3) NOT NULL CHECK (from_currency ~ '^[A-Z]{3}$'),
  to_currency         char(3) NOT NULL CHECK (to_currency ~ '^[A-Z]{3}$'),
  amount              bigint NOT NULL CHECK (amount > 0),
  converted_amount    bigint NOT NULL CHECK (converted_amount > 0),
  -- Decimal strings, never floats: the quoted rate and the provider's rate it came from.
  rate                text NOT NULL CHECK (rate ~ '^(0|[1-9][0-9]*)(\.[0-9]+)?$'),
  provider_rate       text NOT NULL CHECK (provider_rate ~ '^(0|[1-9][0-9]*)(\.[0-9]+)?$'),
  spread_bps          integer NOT NULL CHECK (spread_bps BETWEEN 0 AND 10000),
  rates_as_of         timestamptz NOT NULL,
  expires_at          timestamptz NOT NULL,
  used_by_transfer_id text,
  used_at             timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT fx_quotes_two_currencies CHECK (from_currency <> to_currency),
  CONSTRAINT fx_quotes_used_shape CHECK (used_by_transfer_id IS NULL OR used_at IS NOT NULL)
);
CREATE INDEX fx_quotes_tenant ON fx_quotes (tenant_id, id);

-- What a transfer converts: its quote, the payee's currency and what the payee is credited.
ALTER TABLE transfers
  ADD COLUMN quote_id text REFERENCES fx_quotes (id),
  ADD COLUMN to_currency char(3),
  ADD COLUMN converted_amount bigint CHECK (converted_amount > 0),
  ADD CONSTRAINT transfers_fx_shape CHECK (
    (quote_id IS NULL AND to_currency IS NULL AND converted_amount IS NULL)
    OR (quote_id IS NOT NULL AND to_currency IS NOT NULL AND converted_amount IS NOT NULL));
-- One transfer per quote, whatever the code above does.
CREATE UNIQUE INDEX transfers_one_per_quote ON transfers (quote_id) WHERE quote_id IS NOT NULL;
ALTER TABLE fx_quotes ADD CONSTRAINT fx_quotes_used_by_transfer
  FOREIGN KEY (used_by_transfer_id) REFERENCES transfers (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX fx_quotes_one_transfer ON fx_quotes (used_by_transfer_id) WHERE used_by_transfer_id IS NOT NULL;

-- The per-tenant, per-currency FX system accounts (owner_id 'fx') stand between the two legs of a
-- conversion: the payer's currency flows into one, the payee's out of the other, so every
-- currency of the ledger transaction balances. They are 'system' accounts (they may go negative),
-- beside the one funding account per currency (owner_id NULL) that top-ups and captures use.
DROP INDEX accounts_one_system_per_currency;
CREATE UNIQUE INDEX accounts_one_system_per_currency ON accounts (tenant_id, currency) WHERE type = 'system' AND owner_id IS NULL;
CREATE UNIQUE INDEX accounts_one_fx_per_currency ON accounts (tenant_id, currency) WHERE type = 'system' AND owner_id = 'fx';

-- Down Migration
-- Fails while FX accounts exist: money moved through them cannot be undone by a migration.
DROP INDEX accounts_one_fx_per_currency;
DROP INDEX accounts_one_system_per_currency;
CREATE UNIQUE INDEX accounts_one_system_per_currency ON accounts (tenant_id, currency) WHERE type = 'system';
DROP INDEX fx_quotes_one_transfer;
ALTER TABLE fx_quotes DROP CONSTRAINT fx_quotes_used_by_transfer;
DROP INDEX transfers_one_per_quote;
ALTER TABLE transfers DROP CONSTRAINT transfers_fx_shape, DROP COLUMN converted_amount, DROP COLUMN to_currency, DROP COLUMN quote_id;
DROP TABLE fx_quotes;
