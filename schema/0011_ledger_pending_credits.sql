-- Up Migration

-- Issue #14: a hot payee (one merchant credited by every transfer) must not serialize its payers.
-- A credit cannot overdraft, so it does not need the payee's row lock: when that lock is taken
-- (another transfer to the same payee is in flight), the credit is appended here instead of being
-- added to `accounts.balance`, next to its (ordinary, append-only) ledger entry. The next writer
-- that holds the account's row lock — any debit, or a credit that finds the lock free — folds the
-- account's pending credits into `balance` and deletes them, in one transaction
-- (ledger_lock_account below). So at every snapshot:
--   balance of an account = accounts.balance + sum(ledger_pending_credits.amount of that account)
-- which the store's reads return and the audit checks against the entries. Debits and holds only
-- ever spend `accounts.balance` (folded under their lock), so `accounts_user_no_overdraft` still
-- guards the stored balance. One row per credit entry; the key serves the fold and the read.
-- No foreign keys (as on ledger_transactions.tenant_id): each would take a KEY SHARE lock on the
-- hot account row, a MultiXact per concurrent credit. The entry exists (same statement), the
-- account too (read by the same statement's caller); the audit checks both.
CREATE TABLE ledger_pending_credits (
  account_id text NOT NULL,
  entry_id   text NOT NULL,
  amount     bigint NOT NULL CHECK (amount > 0),
  PRIMARY KEY (account_id, entry_id)
);

-- The same reasoning for the entries' account: every credit entry on the hot payee would KEY
-- SHARE-lock its row. The writers read (and check) every account of a transaction in the same
-- transaction, accounts are never deleted, and the audit reports an entry without its account.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_account_id_fkey;

-- Locks one account of a ledger write and folds its pending credits into its stored balance (the
-- lock holder is the one writer of the row, so no folded credit is counted twice or lost; one
-- committed after the DELETE's snapshot stays pending for the next holder). `p_wait`: wait for the
-- lock (a debited account, in the caller's sorted order) or take it only if free (SKIP LOCKED: a
-- credited-only account). Returns the locked row, its `balance` the stored one (what a debit may
-- spend), or NULL: no such account of the tenant, or its lock was taken.
CREATE FUNCTION ledger_lock_account(p_tenant_id text, p_account_id text, p_wait boolean)
RETURNS accounts LANGUAGE plpgsql AS $$
DECLARE
  v_row     accounts;
  v_pending bigint;
BEGIN
  -- By primary key, one account per statement: a cached plan for `id = ANY($array)` may be a
  -- sequential scan of `accounts` (the planner guesses ten elements).
  IF p_wait THEN
    SELECT a.* INTO v_row FROM accounts a WHERE a.id = p_account_id AND a.tenant_id = p_tenant_id FOR NO KEY UPDATE;
  ELSE
    SELECT a.* INTO v_row FROM accounts a WHERE a.id = p_account_id AND a.tenant_id = p_tenant_id
    FOR NO KEY UPDATE SKIP LOCKED;
  END IF;
  IF NOT FOUND THEN RETURN NULL; END IF;
  WITH f AS (DELETE FROM ledger_pending_credits p WHERE p.account_id = p_account_id RETURNING p.amount)
  SELECT sum(f.amount) INTO v_pending FROM f;
  IF v_pending IS NOT NULL THEN
    UPDATE accounts a SET balance = a.balance + v_pending WHERE a.id = p_account_id RETURNING a.balance INTO v_row.balance;
  END IF;
  RETURN v_row;
END $$;

-- An account as a reader sees it, without a lock: stored balance plus pending credits.
CREATE FUNCTION ledger_read_account(p_tenant_id text, p_account_id text)
RETURNS accounts LANGUAGE sql STABLE AS $$
  SELECT a.id, a.tenant_id, a.type, a.currency, a.owner_id, a.per_transaction_max, a.daily_debit_max, a.metadata,
         a.balance + coalesce((SELECT sum(p.amount) FROM ledger_pending_credits p WHERE p.account_id = a.id), 0)::bigint,
         a.held, a.created_at
  FROM accounts a WHERE a.id = p_account_id AND a.tenant_id = p_tenant_id
$$;

-- Locks the accounts of one ledger write, in ONE round trip, and returns them:
--   * `p_debit_ids` and the account of `p_hold_id` (when given): waited for, in code-point order
--     (the caller passes them distinct and sorted: JavaScript's sort, COLLATE "C") — the one lock
--     order of every ledger write, so concurrent writes never deadlock;
--   * `p_credit_ids` (credited only): locked only if free — a transaction never waits for them, so
--     it never waits while holding a lock out of order either;
--   * every locked account's pending credits folded into its stored balance.
-- `locked` says which accounts the caller may update; the others may only receive pending credits.
-- `balance` is the stored balance for locked accounts and stored plus pending for the others.
CREATE FUNCTION ledger_lock_accounts(p_tenant_id text, p_debit_ids text[], p_credit_ids text[], p_hold_id text)
RETURNS TABLE (
  id text, tenant_id text, type text, currency char(3), owner_id text, per_transaction_max bigint,
  daily_debit_max bigint, metadata jsonb, balance bigint, held bigint, created_at timestamptz, locked boolean
) LANGUAGE plpgsql AS $$
DECLARE
  v_debit text[] := p_debit_ids;
  v_id    text;
  v_row   accounts;
BEGIN
  IF p_hold_id IS NOT NULL THEN
    SELECT h.account_id INTO v_id FROM holds h WHERE h.id = p_hold_id AND h.tenant_id = p_tenant_id;
    IF v_id IS NOT NULL AND NOT v_id = ANY(v_debit) THEN
      v_debit := ARRAY(SELECT d FROM unnest(v_debit || v_id) AS d ORDER BY d COLLATE "C");
    END IF;
  END IF;
  FOREACH v_id IN ARRAY v_debit LOOP
    v_row := ledger_lock_account(p_tenant_id, v_id, true);
    CONTINUE WHEN v_row.id IS NULL;
    RETURN QUERY SELECT (v_row).*, true;
  END LOOP;
  FOREACH v_id IN ARRAY p_credit_ids LOOP
    CONTINUE WHEN v_id = ANY(v_debit);
    v_row := ledger_lock_account(p_tenant_id, v_id, false);
    locked := v_row.id IS NOT NULL;
    IF NOT locked THEN
      v_row := ledger_read_account(p_tenant_id, v_id);
      CONTINUE WHEN v_row.id IS NULL;
    END IF;
    RETURN QUERY SELECT (v_row).*, locked;
  END LOOP;
END $$;

-- Places a hold in ONE round trip (issue #14): locks the account, checks its limits (today's posted
-- debits from `p_today_first_entry_id` on, plus `held`) and funds, and inserts the hold and raises
-- `held` — or, when a check fails or the key was used, returns the hold already placed with the key.
-- It returns the account as it found it, so the store re-checks the outcome with the domain rules
-- (domain/ledger/rules.ts): outcome 'placed' | 'existing' (the key's hold) | 'refused' (nothing written).
CREATE FUNCTION ledger_place_hold(
  p_tenant_id text, p_hold_id text, p_idempotency_key text, p_account_id text, p_amount bigint, p_currency text,
  p_enforce_limits boolean, p_today_first_entry_id text
) RETURNS TABLE (
  outcome text, account_type text, account_currency char(3), per_transaction_max bigint, daily_debit_max bigint,
  balance bigint, held bigint, spent_today bigint,
  hold_id text, hold_account_id text, hold_amount bigint, hold_currency char(3), hold_status text,
  hold_posted_amount bigint, hold_resolution_transaction_id text
) LANGUAGE plpgsql AS $$
DECLARE
  v_acc  accounts := ledger_lock_account(p_tenant_id, p_account_id, true);
  v_hold holds;
BEGIN
  IF v_acc.id IS NOT NULL THEN
    account_type := v_acc.type; account_currency := v_acc.currency; per_transaction_max := v_acc.per_transaction_max;
    daily_debit_max := v_acc.daily_debit_max; balance := v_acc.balance; held := v_acc.held; spent_today := 0;
    IF p_enforce_limits AND v_acc.daily_debit_max IS NOT NULL THEN
      SELECT coalesce(sum(e.amount), 0) + v_acc.held INTO spent_today FROM ledger_entries e
      WHERE e.account_id = p_account_id AND e.id >= p_today_first_entry_id AND e.direction = 'debit';
    END IF;
    IF v_acc.currency = p_currency
       AND (NOT p_enforce_limits OR ((v_acc.per_transaction_max IS NULL OR p_amount <= v_acc.per_transaction_max)
                                     AND (v_acc.daily_debit_max IS NULL OR spent_today + p_amount <= v_acc.daily_debit_max)))
       AND (v_acc.type = 'system' OR v_acc.balance - p_amount - v_acc.held >= 0) THEN
      WITH h AS (
        INSERT INTO holds (id, tenant_id, account_id, amount, currency, idempotency_key)
        VALUES (p_hold_id, p_tenant_id, p_account_id, p_amount, p_currency, p_idempotency_key)
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING *),
      a AS (UPDATE accounts a SET held = a.held + p_amount WHERE a.id = p_account_id AND EXISTS (SELECT 1 FROM h))
      SELECT h.* INTO v_hold FROM h;
      IF v_hold.id IS NOT NULL THEN outcome := 'placed'; END IF;
    END IF;
  END IF;
  IF outcome IS NULL THEN
    SELECT h.* INTO v_hold FROM holds h WHERE h.tenant_id = p_tenant_id AND h.idempotency_key = p_idempotency_key;
    outcome := CASE WHEN v_hold.id IS NOT NULL THEN 'existing' ELSE 'refused' END;
  END IF;
  hold_id := v_hold.id; hold_account_id := v_hold.account_id; hold_amount := v_hold.amount; hold_currency := v_hold.currency;
  hold_status := v_hold.status; hold_posted_amount := v_hold.posted_amount;
  hold_resolution_transaction_id := v_hold.resolution_transaction_id;
  RETURN NEXT;
END $$;

-- Posts a hold to `p_credit_id` in ONE round trip (issue #14: the post of every P2P transfer and
-- wallet capture): waits for the hold's account's lock, takes the payee's only if free, reads the
-- hold (its account's lock serializes every writer of a hold) and any transaction already written
-- with the key, checks, and writes in one statement what writeTransaction writes for two legs —
-- the payee's credit as a pending credit when its lock was taken. It returns the hold as it found
-- it, so the store re-checks the outcome with the domain rules and names a refusal with their
-- codes: outcome 'posted' | 'replayed' | 'hold_missing' | 'refused' (nothing written).
CREATE FUNCTION ledger_post_hold(
  p_tenant_id text, p_hold_id text, p_credit_id text, p_amount bigint, p_idempotency_key text, p_kind text,
  p_reference_id text, p_transaction_id text, p_debit_entry_id text, p_credit_entry_id text
) RETURNS TABLE (
  outcome text, transaction_id text, hold_account_id text, hold_amount bigint, hold_currency char(3), hold_status text,
  hold_posted_amount bigint, hold_resolution_transaction_id text, debit_currency char(3), credit_currency char(3)
) LANGUAGE plpgsql AS $$
DECLARE
  v_payer  accounts;
  v_payee  accounts;
  v_amount bigint;
  v_credit_locked boolean;
BEGIN
  -- The hold's account never changes: read it unlocked, lock it, then read the hold itself.
  SELECT h.account_id INTO hold_account_id FROM holds h WHERE h.id = p_hold_id AND h.tenant_id = p_tenant_id;
  IF hold_account_id IS NULL THEN outcome := 'hold_missing'; RETURN NEXT; RETURN; END IF;
  v_payer := ledger_lock_account(p_tenant_id, hold_account_id, true);
  IF p_credit_id = hold_account_id THEN
    v_payee := v_payer;
  ELSE
    v_payee := ledger_lock_account(p_tenant_id, p_credit_id, false);
  END IF;
  v_credit_locked := v_payee.id IS NOT NULL;
  IF NOT v_credit_locked THEN v_payee := ledger_read_account(p_tenant_id, p_credit_id); END IF;
  debit_currency := v_payer.currency; credit_currency := v_payee.currency;

  SELECT h.amount, h.currency, h.status, h.posted_amount, h.resolution_transaction_id,
         (SELECT t.id FROM ledger_transactions t WHERE t.tenant_id = p_tenant_id AND t.idempotency_key = p_idempotency_key)
    INTO hold_amount, hold_currency, hold_status, hold_posted_amount, hold_resolution_transaction_id, transaction_id
    FROM holds h WHERE h.id = p_hold_id;
  IF transaction_id IS NOT NULL THEN outcome := 'replayed'; RETURN NEXT; RETURN; END IF;

  v_amount := coalesce(p_amount, hold_amount);
  IF hold_status <> 'active' OR v_amount > hold_amount OR v_amount <= 0
     OR debit_currency IS DISTINCT FROM hold_currency OR credit_currency IS DISTINCT FROM hold_currency THEN
    outcome := 'refused'; RETURN NEXT; RETURN;
  END IF;

  WITH t AS (
    INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind, reference_id, hold_id)
    VALUES (p_transaction_id, p_tenant_id, p_idempotency_key, p_kind, p_reference_id, p_hold_id)),
  e AS (
    INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency)
    VALUES (p_debit_entry_id, p_transaction_id, hold_account_id, 'debit', v_amount, hold_currency),
           (p_credit_entry_id, p_transaction_id, p_credit_id, 'credit', v_amount, hold_currency)),
  c AS (
    INSERT INTO ledger_pending_credits (account_id, entry_id, amount)
    SELECT p_credit_id, p_credit_entry_id, v_amount WHERE NOT v_credit_locked),
  a AS (
    UPDATE accounts a
    SET balance = a.balance + CASE WHEN a.id = p_credit_id AND v_credit_locked THEN v_amount ELSE 0 END
                            - CASE WHEN a.id = hold_account_id THEN v_amount ELSE 0 END,
        held = a.held - CASE WHEN a.id = hold_account_id THEN hold_amount ELSE 0 END
    WHERE a.id IN (hold_account_id, CASE WHEN v_credit_locked THEN p_credit_id ELSE hold_account_id END))
  UPDATE holds SET status = 'posted', posted_amount = v_amount, resolution_transaction_id = p_transaction_id, resolved_at = now()
  WHERE id = p_hold_id;
  outcome := 'posted'; transaction_id := p_transaction_id; RETURN NEXT;
END $$;

-- Down Migration
-- Fold every pending credit first: dropping the table must not lose money.
UPDATE accounts a SET balance = a.balance + s.total
FROM (SELECT account_id, sum(amount) AS total FROM ledger_pending_credits GROUP BY account_id) s
WHERE a.id = s.account_id;
DROP FUNCTION ledger_place_hold(text, text, text, text, bigint, text, boolean, text);
DROP FUNCTION ledger_post_hold(text, text, text, bigint, text, text, text, text, text, text);
DROP FUNCTION ledger_lock_accounts(text, text[], text[], text);
DROP FUNCTION ledger_read_account(text, text);
DROP FUNCTION ledger_lock_account(text, text, boolean);
DROP TABLE ledger_pending_credits;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
