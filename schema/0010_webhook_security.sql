-- Up Migration

-- Merchant webhook endpoints (issue #12, contract §5): the signing secret must be read back to
-- sign each delivery, so it is stored sealed (platform/secrets.ts, AES-256-GCM), never in clear.
--
-- * `secret_sealed`: the current secret. `previous_secret_sealed` + `previous_secret_expires_at`:
--   the secret a rotation replaced, which keeps signing (a second `v1=`) until that time.
-- * `deleted_at`: DELETE keeps the row (deliveries reference it and stay listed) but erases both
--   sealed secrets and disables it; nothing is sent to a deleted endpoint.
-- * `secret`: the old clear column. SQL cannot seal (the keys live in the environment), so the
--   rows written before this migration are sealed in code: the worker does it at start-up, before
--   it polls (store/notifications/webhook-endpoints.ts `sealClearWebhookSecrets`, also
--   `npm run ops -- seal-webhook-secrets`), and sets `secret` to NULL. From now on no row may be
--   written with a clear secret: the NOT VALID check applies to every insert and update, not to
--   the rows already there. A later migration drops the column.
ALTER TABLE webhook_endpoints
  ALTER COLUMN secret DROP NOT NULL,
  ADD COLUMN secret_sealed text CHECK (secret_sealed LIKE 'v1.%'),
  ADD COLUMN previous_secret_sealed text CHECK (previous_secret_sealed LIKE 'v1.%'),
  ADD COLUMN previous_secret_expires_at timestamptz,
  ADD COLUMN deleted_at timestamptz,
  ADD CONSTRAINT webhook_endpoints_previous_has_end
    CHECK ((previous_secret_sealed IS NULL) = (previous_secret_expires_at IS NULL)),
  ADD CONSTRAINT webhook_endpoints_deleted_erased
    CHECK (deleted_at IS NULL OR (secret_sealed IS NULL AND previous_secret_sealed IS NULL AND secret IS NULL AND status = 'disabled')),
  ADD CONSTRAINT webhook_endpoints_live_has_secret
    CHECK (deleted_at IS NOT NULL OR secret_sealed IS NOT NULL OR secret IS NOT NULL);
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_no_clear_secret CHECK (secret IS NULL) NOT VALID;

-- Down Migration
-- The sealed secrets cannot be turned back into clear ones here: going down erases them, and the
-- endpoints need new secrets (delete and create them again).
ALTER TABLE webhook_endpoints
  DROP CONSTRAINT webhook_endpoints_no_clear_secret,
  DROP CONSTRAINT webhook_endpoints_live_has_secret,
  DROP CONSTRAINT webhook_endpoints_deleted_erased,
  DROP CONSTRAINT webhook_endpoints_previous_has_end,
  DROP COLUMN deleted_at,
  DROP COLUMN previous_secret_expires_at,
  DROP COLUMN previous_secret_sealed,
  DROP COLUMN secret_sealed;
UPDATE webhook_endpoints SET secret = '', status = 'disabled' WHERE secret IS NULL;
ALTER TABLE webhook_endpoints ALTER COLUMN secret SET NOT NULL;
