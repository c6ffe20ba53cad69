-- Up Migration

-- Issue #20 (contract §10): broadcasts on every channel of a notification but webhooks — e-mail and
-- SMS beside in-app and push — and quiet hours per recipient: a recipient inside their quiet hours
-- when their page is sent gets `deferred` deliveries, sent once `deliver_after` has passed (the
-- broadcast's run sleeps until the earliest, then sends those due in pages, as the main pass does).

ALTER TABLE broadcasts DROP CONSTRAINT broadcasts_channels_check;
ALTER TABLE broadcasts ADD CONSTRAINT broadcasts_channels_check
  CHECK (cardinality(channels) BETWEEN 1 AND 4 AND channels <@ ARRAY['in_app', 'push', 'email', 'sms']);

ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_channel_check;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_channel_check
  CHECK (channel IN ('in_app', 'push', 'email', 'sms'));
ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_status_check;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_status_check CHECK (status IN
  ('deferred', 'sent', 'delivered', 'bounced', 'failed', 'skipped_opt_out', 'skipped_no_contact'));
ALTER TABLE broadcast_deliveries ADD COLUMN deliver_after timestamptz;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_deferred_until
  CHECK ((status = 'deferred') = (deliver_after IS NOT NULL));
-- The deferred deliveries of a broadcast, by when they are due (the deferred pass reads them in order).
CREATE INDEX broadcast_deliveries_deferred ON broadcast_deliveries (broadcast_id, deliver_after, user_id) WHERE status = 'deferred';

-- Push tokens the provider reports gone are removed from whoever holds them (a page's, in one statement).
CREATE INDEX user_contacts_push_tokens ON user_contacts USING gin (push_tokens);

-- Down Migration

DROP INDEX user_contacts_push_tokens;
DROP INDEX broadcast_deliveries_deferred;
DELETE FROM broadcast_deliveries WHERE status = 'deferred';
ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_deferred_until;
ALTER TABLE broadcast_deliveries DROP COLUMN deliver_after;
ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_status_check;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_status_check CHECK (status IN
  ('sent', 'delivered', 'bounced', 'failed', 'skipped_opt_out', 'skipped_no_contact'));
DELETE FROM broadcast_deliveries WHERE channel IN ('email', 'sms');
ALTER TABLE broadcast_deliveries DROP CONSTRAINT broadcast_deliveries_channel_check;
ALTER TABLE broadcast_deliveries ADD CONSTRAINT broadcast_deliveries_channel_check CHECK (channel IN ('in_app', 'push'));
UPDATE broadcasts SET channels = ARRAY(SELECT c FROM unnest(channels) c WHERE c IN ('in_app', 'push')) WHERE NOT channels <@ ARRAY['in_app', 'push'];
ALTER TABLE broadcasts DROP CONSTRAINT broadcasts_channels_check;
ALTER TABLE broadcasts ADD CONSTRAINT broadcasts_channels_check CHECK (cardinality(channels) BETWEEN 1 AND 2 AND channels <@ ARRAY['in_app', 'push']);
