-- Up Migration

-- Tenant API keys get a table of their own (issue #12): a tenant may hold several keys at once,
-- so a key can be rotated with a grace period (`expires_at`) or revoked at once. Keys are stored
-- as SHA-256 digests only (`key_hash`, the one index authentication uses); `last4` lets people
-- tell keys apart. A revoked key always has an end: `expires_at` is when it stopped (or stops)
-- working, `revoked_at` when it was revoked; authentication accepts
-- `expires_at IS NULL OR expires_at > now()`.
CREATE TABLE api_keys (
  id           text PRIMARY KEY CHECK (id ~ '^key_[0-9A-Z]{26}$'),
  tenant_id    text NOT NULL REFERENCES tenants (id),
  key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  last4        text NOT NULL CHECK (length(last4) = 4),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz,
  CONSTRAINT api_keys_revoked_has_end CHECK (revoked_at IS NULL OR expires_at IS NOT NULL)
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

-- Each tenant's existing key becomes its first row: the key keeps working, unchanged. The id is
-- a ULID-shaped `key_…` whose time part is the tenant's creation time (ids sort by creation, as
-- everywhere) and whose random part is derived from the tenant id (Crockford base32).
INSERT INTO api_keys (id, tenant_id, key_hash, last4, created_at)
SELECT 'key_'
       || (SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                                    (((floor(extract(epoch FROM t.created_at) * 1000)::bigint) >> (5 * (9 - i))) & 31)::int + 1, 1),
                             '' ORDER BY i)
           FROM generate_series(0, 9) AS i)
       || (SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (get_byte(decode(md5(t.id), 'hex'), i) % 32) + 1, 1),
                             '' ORDER BY i)
           FROM generate_series(0, 15) AS i),
       t.id, t.api_key_hash, t.api_key_last4, t.created_at
FROM tenants t
-- Only real digests (a placeholder left by this file's down migration is no key anyone holds).
WHERE t.api_key_hash ~ '^[0-9a-f]{64}$';

-- The tenant row no longer holds a key: nothing reads these columns any more.
ALTER TABLE tenants DROP COLUMN api_key_hash, DROP COLUMN api_key_last4;

-- Actor signing secrets (contract §0 `Steadfast-Actor`): HS256 keys a tenant signs actor JWTs
-- with, named by `id` (the JWT's `kid`). The secret must be read back to verify HMACs, so it is
-- stored sealed (platform/secrets.ts, AES-256-GCM), never in clear; deleting a key erases the
-- sealed secret too (the row stays, so audit entries keep naming it).
CREATE TABLE actor_signing_keys (
  id            text PRIMARY KEY CHECK (id ~ '^ask_[0-9A-Z]{26}$'),
  tenant_id     text NOT NULL REFERENCES tenants (id),
  secret_sealed text CHECK (secret_sealed LIKE 'v1.%'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  CONSTRAINT actor_signing_keys_deleted_erased CHECK ((deleted_at IS NULL) = (secret_sealed IS NOT NULL))
);
CREATE INDEX actor_signing_keys_tenant_id ON actor_signing_keys (tenant_id, id) WHERE deleted_at IS NULL;

-- Down Migration

DROP TABLE actor_signing_keys;
-- Back to one key per tenant: each tenant keeps its newest key that still works; a tenant with
-- none left gets a digest no key has (never a revoked key's digest: that would bring it back).
ALTER TABLE tenants ADD COLUMN api_key_hash text, ADD COLUMN api_key_last4 text;
UPDATE tenants t SET api_key_hash = coalesce(k.key_hash, 'revoked_' || t.id), api_key_last4 = coalesce(k.last4, '----')
FROM tenants t2
LEFT JOIN (
  SELECT DISTINCT ON (tenant_id) tenant_id, key_hash, last4 FROM api_keys
  WHERE expires_at IS NULL OR expires_at > now()
  ORDER BY tenant_id, (expires_at IS NULL) DESC, id DESC
) k ON k.tenant_id = t2.id
WHERE t2.id = t.id;
ALTER TABLE tenants ALTER COLUMN api_key_hash SET NOT NULL, ALTER COLUMN api_key_last4 SET NOT NULL,
  ADD CONSTRAINT tenants_api_key_hash_key UNIQUE (api_key_hash);
DROP TABLE api_keys;
