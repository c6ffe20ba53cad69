-- Up Migration

-- Issue #20 item 3 (contract §10): locales and e-mail digests.
-- * Templates carry locale variants (`{"fr": {channels}}`), contacts a `locale` (BCP 47): rendering
--   picks the contact's locale, then its language, then the template's default channels.
-- * Preference `digest: {"email": "1h"}`: a user's normal-priority, non-critical e-mails are held
--   (delivery status `held`, `digest_id` set) in the user's open digest, and ONE e-mail (template
--   `digest`) is sent when its window ends (workflow `digest-<dgst_id>`); the held deliveries then
--   become `sent` with the digest's provider message id.

ALTER TABLE notification_templates ADD COLUMN locales jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE user_contacts ADD COLUMN locale text CHECK (length(locale) BETWEEN 2 AND 35);
ALTER TABLE notification_preferences ADD COLUMN digest jsonb;  -- {"email": "1h"}; null: no digest

-- open: collecting held e-mails until window_end; sending: closed to new ones, its e-mail rendered
-- (`content`, so every retry sends the same bytes); sent / skipped (nothing left to send, opted
-- out, no address) / failed (refused for good, or out of attempts: its held deliveries dead-lettered).
CREATE TABLE notification_digests (
  id                  text PRIMARY KEY,
  tenant_id           text NOT NULL REFERENCES tenants (id),
  user_id             text NOT NULL,
  channel             text NOT NULL DEFAULT 'email' CHECK (channel = 'email'),
  window_start        timestamptz NOT NULL,
  window_end          timestamptz NOT NULL CHECK (window_end > window_start),
  status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'sending', 'sent', 'skipped', 'failed')),
  messages            int NOT NULL DEFAULT 0 CHECK (messages >= 0),
  content             jsonb,
  provider_message_id text,
  last_error          text,
  sent_at             timestamptz,
  run_seen_at         timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
-- At most one open digest per user and channel: a held e-mail joins it, or opens the next one.
CREATE UNIQUE INDEX notification_digests_open ON notification_digests (tenant_id, user_id, channel) WHERE status = 'open';
CREATE INDEX notification_digests_unstarted ON notification_digests (created_at) WHERE status = 'open' AND run_seen_at IS NULL;

ALTER TABLE deliveries ADD COLUMN digest_id text REFERENCES notification_digests (id);
CREATE INDEX deliveries_digest ON deliveries (digest_id) WHERE digest_id IS NOT NULL;
-- `held` (waiting in a digest) is new; `delivered` and `bounced` are 0024's (provider receipts).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN (
  'queued', 'held', 'sent', 'delivered', 'bounced', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled'));
ALTER TABLE deliveries ADD CONSTRAINT deliveries_held_in_digest CHECK (status <> 'held' OR digest_id IS NOT NULL);

-- Down Migration

ALTER TABLE deliveries DROP CONSTRAINT deliveries_held_in_digest;
UPDATE deliveries SET status = 'queued' WHERE status = 'held';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN
  ('queued', 'sent', 'delivered', 'bounced', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled'));
DROP INDEX deliveries_digest;
ALTER TABLE deliveries DROP COLUMN digest_id;
DROP TABLE notification_digests;
ALTER TABLE notification_preferences DROP COLUMN digest;
ALTER TABLE user_contacts DROP COLUMN locale;
ALTER TABLE notification_templates DROP COLUMN locales;
