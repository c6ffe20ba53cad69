-- Up Migration

-- Issue #15 (chaos suite): an attempt whose in-flight record was taken over (its lock went stale
-- while it was still at work, e.g. blocked through a database failover) must not write its answer
-- over the answer of the attempt that took over, nor release that attempt's claim: the client was
-- given the first stored answer and every replay must return it (contract §0). Each claim and each
-- takeover gets a random token; only its holder completes or releases the record. NULL: a record
-- claimed before this migration (completed and released by key alone, as before).
ALTER TABLE idempotency_keys ADD COLUMN claim_token text;

-- Down Migration

ALTER TABLE idempotency_keys DROP COLUMN claim_token;
