-- Up Migration

-- Issue #20 item 4 (contract §10 "Delivery receipts"): the providers' signed status callbacks
-- (`POST /v1/provider-callbacks/:provider`) move a sent delivery to `delivered` or `bounced`.
-- A callback names no tenant, only the provider's message id: both delivery tables are looked up
-- by it (partial indexes, only rows that have one). `bounced` is final; `delivered` may still
-- become `bounced` (an e-mail accepted by the receiving server can bounce later), never back.

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN
  ('queued', 'sent', 'delivered', 'bounced', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled'));
CREATE INDEX deliveries_provider_message ON deliveries (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- A broadcast delivery's provider message id is written with its page.
ALTER TABLE broadcast_deliveries ADD COLUMN provider_message_id text;
ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_status_check;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_status_check CHECK (status IN
  ('sent', 'delivered', 'bounced', 'failed', 'skipped_opt_out', 'skipped_no_contact'));
CREATE INDEX broadcast_deliveries_provider_message ON broadcast_deliveries (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Addresses a provider reported as bounced, per tenant: planning and broadcast pages treat them as
-- no contact (`skipped_no_contact`). Keyed by the address itself, not the user: a user who changes
-- to a new address is reached again at once; the same address stays suppressed (e-mail lower-cased).
CREATE TABLE contact_bounces (
  tenant_id           text NOT NULL REFERENCES tenants (id),
  channel             text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
  address             text NOT NULL CHECK (length(address) BETWEEN 1 AND 4096),
  provider_message_id text NOT NULL,
  error_code          text,
  bounced_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, channel, address)
);

-- Down Migration

DROP TABLE contact_bounces;
DROP INDEX broadcast_deliveries_provider_message;
UPDATE broadcast_deliveries SET status = 'sent' WHERE status IN ('delivered', 'bounced');
ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_status_check;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_status_check CHECK (status IN
  ('sent', 'failed', 'skipped_opt_out', 'skipped_no_contact'));
ALTER TABLE broadcast_deliveries DROP COLUMN provider_message_id;
DROP INDEX deliveries_provider_message;
UPDATE deliveries SET status = 'sent' WHERE status IN ('delivered', 'bounced');
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN
  ('queued', 'sent', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled'));
