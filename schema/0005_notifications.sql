-- Up Migration

-- Notifications (contract §5): templates, contacts and preferences per user, notifications with
-- one delivery per channel, the in-app inbox, merchant webhook endpoints, and the outbox wake-up.
-- user_id is the tenant's own id for a person (an employee id, an account owner id, ...).

CREATE TABLE notification_templates (
  tenant_id  text NOT NULL REFERENCES tenants (id),
  id         text NOT NULL CHECK (id ~ '^[A-Za-z0-9_.:-]{1,100}$'),
  channels   jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE user_contacts (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  user_id     text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  email       text,
  phone       text,
  push_tokens text[] NOT NULL DEFAULT '{}',
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);

-- A missing row or a null channel means "opted in" (the default); false means opted out.
CREATE TABLE notification_preferences (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  user_id     text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  email       boolean,
  sms         boolean,
  push        boolean,
  in_app      boolean,
  quiet_hours jsonb,  -- {start: "22:00", end: "07:00", time_zone: "Europe/Paris"}
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE notifications (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  user_id      text NOT NULL,
  template_id  text NOT NULL,
  data         jsonb NOT NULL DEFAULT '{}'::jsonb,
  channels     text[] NOT NULL,
  priority     text NOT NULL CHECK (priority IN ('high', 'normal')),
  critical     boolean NOT NULL DEFAULT false,
  scheduled_at timestamptz,
  status       text NOT NULL CHECK (status IN ('scheduled', 'deferred', 'processing', 'completed', 'cancelled')),
  -- Set when an outbox event created it: the same event never creates the same notification twice.
  source_key   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT notifications_source_key UNIQUE (tenant_id, source_key)
);
CREATE INDEX notifications_tenant ON notifications (tenant_id, id);

-- Merchant webhook endpoints; the secret signs every delivery (Steadfast-Signature).
CREATE TABLE webhook_endpoints (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants (id),
  url        text NOT NULL,
  events     text[] NOT NULL,
  secret     text NOT NULL,
  status     text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

-- One row per (notification, channel) or per (webhook endpoint, event): what was attempted and how
-- it ended. `content` is what is sent (rendered once, so every retry sends the same bytes).
CREATE TABLE deliveries (
  id                  text PRIMARY KEY,
  tenant_id           text NOT NULL REFERENCES tenants (id),
  kind                text NOT NULL CHECK (kind IN ('notification', 'webhook')),
  channel             text NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'in_app', 'webhook')),
  notification_id     text REFERENCES notifications (id),
  endpoint_id         text REFERENCES webhook_endpoints (id),
  event_id            text,
  priority            text NOT NULL DEFAULT 'normal' CHECK (priority IN ('high', 'normal')),
  status              text NOT NULL CHECK (status IN
                        ('queued', 'sent', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled')),
  attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error          text,
  provider_message_id text,
  response_status     integer,
  content             jsonb,
  retries             integer NOT NULL DEFAULT 0,  -- ops retries of a dead letter
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  sent_at             timestamptz,
  CONSTRAINT deliveries_shape CHECK (
    (kind = 'notification' AND notification_id IS NOT NULL AND channel <> 'webhook')
    OR (kind = 'webhook' AND endpoint_id IS NOT NULL AND event_id IS NOT NULL AND channel = 'webhook'))
);
CREATE UNIQUE INDEX deliveries_one_per_channel ON deliveries (notification_id, channel) WHERE kind = 'notification';
CREATE UNIQUE INDEX deliveries_one_per_endpoint_event ON deliveries (endpoint_id, event_id) WHERE kind = 'webhook';
CREATE INDEX deliveries_dead_letters ON deliveries (id) WHERE status = 'dead_lettered';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id) WHERE kind = 'webhook';

-- The in-app channel's store: one message per notification; the SSE stream is woken by NOTIFY.
CREATE TABLE inbox_messages (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  user_id         text NOT NULL,
  notification_id text NOT NULL UNIQUE REFERENCES notifications (id),
  title           text NOT NULL,
  body            text NOT NULL,
  read_at         timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_messages_user ON inbox_messages (tenant_id, user_id, id);

CREATE FUNCTION inbox_messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('inbox_messages', json_build_object(
    'tenant_id', NEW.tenant_id, 'user_id', NEW.user_id, 'id', NEW.id)::text);
  RETURN NEW;
END $$;
CREATE TRIGGER inbox_messages_notify AFTER INSERT ON inbox_messages
  FOR EACH ROW EXECUTE FUNCTION inbox_messages_notify();

-- Relayed events are kept OUTBOX_RETENTION for audits, then purged by the relay.
CREATE INDEX outbox_processed ON outbox (processed_at) WHERE processed_at IS NOT NULL;

-- The outbox relay sleeps on LISTEN outbox; a committed insert wakes it (one NOTIFY per statement).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Down Migration
DROP INDEX outbox_processed;
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
DROP TRIGGER inbox_messages_notify ON inbox_messages;
DROP FUNCTION inbox_messages_notify();
DROP TABLE inbox_messages;
DROP TABLE deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE notifications;
DROP TABLE notification_preferences;
DROP TABLE user_contacts;
DROP TABLE notification_templates;
