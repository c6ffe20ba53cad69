-- Up Migration

-- The audit log (contract §1, issue #12): one row per state-changing request that authenticated,
-- refusals included, with the HTTP status it was answered. Append-only in the database itself:
-- the triggers below refuse UPDATE, DELETE and TRUNCATE for every role the API runs as, so no
-- code path (and no API) can change or remove an entry. Ids are ULIDs (`aud_…`): they sort by
-- time, and paging is by id, newest first.
--
-- `tenant_id` is NULL for admin actions that belong to no tenant (a product update, an ops
-- retry); an admin action on one tenant (a tenant created, a key issued for it) carries that
-- tenant, so the tenant sees it in its own log. The foreign key also means a tenant with an
-- audit history cannot be deleted, which is what an append-only log wants.
-- `resource_id` is NULL when the request named no resource (a refused create).
CREATE TABLE audit_events (
  id            text PRIMARY KEY CHECK (id ~ '^aud_[0-9A-Z]{26}$'),
  tenant_id     text REFERENCES tenants (id),
  at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor_type    text NOT NULL CHECK (actor_type IN ('admin', 'api_key', 'user')),
  actor_id      text NOT NULL CHECK (length(actor_id) BETWEEN 1 AND 200),
  action        text NOT NULL CHECK (action ~ '^[a-z_]{1,64}\.[a-z_]{1,64}$'),
  resource_type text NOT NULL CHECK (resource_type ~ '^[a-z_]{1,64}$'),
  resource_id   text CHECK (length(resource_id) BETWEEN 1 AND 300),
  request_id    text CHECK (length(request_id) BETWEEN 1 AND 255),
  status        smallint NOT NULL CHECK (status BETWEEN 100 AND 599)
);

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION steadfast_forbid_mutation();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION steadfast_forbid_mutation();

-- The list filters (GET /v1/audit-log, /v1/ops/audit-log), each ending in `id` for the paging:
-- a tenant's log, by action; and one resource's or one actor's history (ids are unique enough
-- that the tenant is a cheap filter on top). The primary key pages the unfiltered ops list.
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_tenant_action ON audit_events (tenant_id, action, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_resource ON audit_events (resource_id, id) WHERE resource_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);

-- Down Migration
DROP TABLE audit_events;
