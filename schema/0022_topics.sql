-- Up Migration

-- Issue #20 item 1 (contract §10): topics and their subscribers, the audiences of broadcasts.
-- user_id is the tenant's own id for a person, as everywhere in notifications.

CREATE TABLE topics (
  tenant_id  text NOT NULL REFERENCES tenants (id),
  key        text NOT NULL CHECK (key ~ '^[A-Za-z0-9_.:-]{1,100}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

-- The primary key is also the broadcast's page order: recipients by user id, keyset paged.
CREATE TABLE topic_subscribers (
  tenant_id  text NOT NULL,
  topic_key  text NOT NULL,
  user_id    text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, topic_key, user_id),
  CONSTRAINT topic_subscribers_topic FOREIGN KEY (tenant_id, topic_key) REFERENCES topics (tenant_id, key) ON DELETE CASCADE
);

-- Down Migration

DROP TABLE topic_subscribers;
DROP TABLE topics;
