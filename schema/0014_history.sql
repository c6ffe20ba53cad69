-- Up Migration

-- Issue #18 (history and statements, contract §2): the balance at an instant and statements read an
-- account's entries by time. INCLUDE (direction, amount): the sums are index scans of the window's
-- entries without visiting the table (bench/statements.ts: an account with 100,000 entries).
CREATE INDEX ledger_entries_account_time ON ledger_entries (account_id, created_at) INCLUDE (direction, amount);

-- History lists by account (`GET /v1/transfers?account_id=`: either side; `GET /v1/topups?account_id=`),
-- newest first by id as every list.
CREATE INDEX transfers_from_account ON transfers (from_account_id, id);
CREATE INDEX transfers_to_account ON transfers (to_account_id, id);
CREATE INDEX topups_account ON topups (account_id, id);

-- Down Migration

DROP INDEX topups_account;
DROP INDEX transfers_to_account;
DROP INDEX transfers_from_account;
DROP INDEX ledger_entries_account_time;
