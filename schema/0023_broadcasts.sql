-- Up Migration

-- Issue #20 item 1 (contract §10): a broadcast to a topic's subscribers, sent by ONE workflow in
-- pages (workflows/notifications/broadcast.ts), not one workflow per recipient. `cursor` is the
-- last user id of the last page committed: the checkpoint a retried or resumed page starts from.

CREATE TABLE broadcasts (
  id                 text PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants (id),
  topic_key          text NOT NULL,
  template_id        text NOT NULL,
  data               jsonb NOT NULL DEFAULT '{}'::jsonb,
  channels           text[] NOT NULL CHECK (cardinality(channels) BETWEEN 1 AND 2 AND channels <@ ARRAY['in_app', 'push']),
  priority           text NOT NULL DEFAULT 'normal' CHECK (priority IN ('high', 'normal')),
  scheduled_at       timestamptz,
  status             text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'completed', 'cancelled')),
  -- Subscribers when sending started (those who subscribed later are not sent to).
  started_at         timestamptz,
  recipients         int NOT NULL DEFAULT 0 CHECK (recipients >= 0),
  cursor             text,
  -- Per delivery (recipient × channel), kept with each page in its transaction.
  sent               int NOT NULL DEFAULT 0,
  failed             int NOT NULL DEFAULT 0,
  skipped_opt_out    int NOT NULL DEFAULT 0,
  skipped_no_contact int NOT NULL DEFAULT 0,
  run_seen_at        timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT broadcasts_topic FOREIGN KEY (tenant_id, topic_key) REFERENCES topics (tenant_id, key)
);
CREATE INDEX broadcasts_tenant ON broadcasts (tenant_id, id);

-- One row per recipient and channel: written once, with its page (the key makes a repeat a no-op).
CREATE TABLE broadcast_deliveries (
  broadcast_id text NOT NULL REFERENCES broadcasts (id),
  user_id      text NOT NULL,
  channel      text NOT NULL CHECK (channel IN ('in_app', 'push')),
  status       text NOT NULL CHECK (status IN ('sent', 'failed', 'skipped_opt_out', 'skipped_no_contact')),
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (broadcast_id, user_id, channel)
);

-- A broadcast's in-app messages belong to it, not to a notification: one per broadcast and user.
ALTER TABLE inbox_messages ALTER COLUMN notification_id DROP NOT NULL;
ALTER TABLE inbox_messages ADD COLUMN broadcast_id text REFERENCES broadcasts (id);
ALTER TABLE inbox_messages ADD CONSTRAINT inbox_messages_one_source CHECK ((notification_id IS NULL) <> (broadcast_id IS NULL));
CREATE UNIQUE INDEX inbox_messages_broadcast ON inbox_messages (broadcast_id, user_id) WHERE broadcast_id IS NOT NULL;

-- Down Migration

DROP INDEX inbox_messages_broadcast;
DELETE FROM inbox_messages WHERE broadcast_id IS NOT NULL;
ALTER TABLE inbox_messages DROP CONSTRAINT inbox_messages_one_source;
ALTER TABLE inbox_messages DROP COLUMN broadcast_id;
ALTER TABLE inbox_messages ALTER COLUMN notification_id SET NOT NULL;
DROP TABLE broadcast_deliveries;
DROP TABLE broadcasts;
