-- Up Migration

-- Issue #18 (KYC tiers and limits, contract §2). Accounts carry a KYC level; a tenant sets each
-- level's limits per currency. Where the account and its tier both set a limit, the lower holds
-- (LEAST ignores NULLs: NULL = no limit). Limits are never cached: every ledger write reads them
-- under the account's row lock, so a tier change applies to the next transfer.
CREATE TABLE kyc_tiers (
  tenant_id           text NOT NULL REFERENCES tenants (id),
  level               text NOT NULL CHECK (level IN ('none', 'basic', 'full')),
  currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  per_transaction_max bigint CHECK (per_transaction_max > 0),
  daily_debit_max     bigint CHECK (daily_debit_max > 0),
  monthly_debit_max   bigint CHECK (monthly_debit_max > 0),
  balance_max         bigint CHECK (balance_max > 0),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, level, currency)
);

-- New columns land after `created_at`: the `accounts` rowtype grows, so every function below that
-- lists the columns (ledger_read_account, ledger_lock_accounts) is recreated with them.
ALTER TABLE accounts
  ADD COLUMN kyc_level text NOT NULL DEFAULT 'none' CHECK (kyc_level IN ('none', 'basic', 'full')),
  ADD COLUMN monthly_debit_max bigint CHECK (monthly_debit_max > 0),
  ADD COLUMN balance_max bigint CHECK (balance_max > 0);

-- The effective balance cap of an account row: LEAST(account, its tier) for a user account, NULL
-- for others or when neither sets one. Reads the tier without a lock (a tier is never locked).
CREATE FUNCTION ledger_cap_of(p_row accounts) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_row.type = 'user' THEN
    least(p_row.balance_max, (SELECT t.balance_max FROM kyc_tiers t
                              WHERE t.tenant_id = p_row.tenant_id AND t.level = p_row.kyc_level AND t.currency = p_row.currency))
  END
$$;

-- The effective balance cap of a tenant's user account (NULL: none, not a user account, or no such
-- account). A credit that would lift the balance above it fails `limit_exceeded`; a writer that
-- credits an account with a cap waits for its row lock (in sorted id order) and checks
-- stored balance + pending credits + amount <= cap under it (ledger_post_hold, ledger_lock_accounts).
CREATE FUNCTION ledger_balance_cap(p_tenant_id text, p_account_id text) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT ledger_cap_of(a) FROM accounts a WHERE a.id = p_account_id AND a.tenant_id = p_tenant_id
$$;

-- As in 0011, with the new columns (a SQL function's select list must match the rowtype).
CREATE OR REPLACE FUNCTION ledger_read_account(p_tenant_id text, p_account_id text)
RETURNS accounts LANGUAGE sql STABLE AS $$
  SELECT a.id, a.tenant_id, a.type, a.currency, a.owner_id, a.per_transaction_max, a.daily_debit_max, a.metadata,
         a.balance + coalesce((SELECT sum(p.amount) FROM ledger_pending_credits p WHERE p.account_id = a.id), 0)::bigint,
         a.held, a.created_at, a.kyc_level, a.monthly_debit_max, a.balance_max
  FROM accounts a WHERE a.id = p_account_id AND a.tenant_id = p_tenant_id
$$;

-- As in 0011, with the new columns and `balance_cap` (ledger_cap_of, read after the lock), and one
-- change: a credited-only account WITH a balance cap is waited for like a debited one, in the same
-- sorted order (deadlock-free), so its cap is checked under its lock (no concurrent credit can
-- slip in between the check and the write). Credited-only accounts without a cap are still taken
-- only if free.
DROP FUNCTION ledger_lock_accounts(text, text[], text[], text);
CREATE FUNCTION ledger_lock_accounts(p_tenant_id text, p_debit_ids text[], p_credit_ids text[], p_hold_id text)
RETURNS TABLE (
  id text, tenant_id text, type text, currency char(3), owner_id text, per_transaction_max bigint,
  daily_debit_max bigint, metadata jsonb, balance bigint, held bigint, created_at timestamptz,
  kyc_level text, monthly_debit_max bigint, balance_max bigint, balance_cap bigint, locked boolean
) LANGUAGE plpgsql AS $$
DECLARE
  v_debit  text[] := p_debit_ids;
  v_extra  text[] := '{}';
  v_id     text;
  v_row    accounts;
BEGIN
  IF p_hold_id IS NOT NULL THEN
    SELECT h.account_id INTO v_id FROM holds h WHERE h.id = p_hold_id AND h.tenant_id = p_tenant_id;
    IF v_id IS NOT NULL AND NOT v_id = ANY(v_debit) THEN v_extra := v_extra || v_id; END IF;
  END IF;
  FOREACH v_id IN ARRAY p_credit_ids LOOP
    IF NOT v_id = ANY(v_debit) AND ledger_balance_cap(p_tenant_id, v_id) IS NOT NULL THEN v_extra := v_extra || v_id; END IF;
  END LOOP;
  IF cardinality(v_extra) > 0 THEN
    v_debit := ARRAY(SELECT s.d FROM (SELECT DISTINCT d FROM unnest(v_debit || v_extra) AS d) s ORDER BY s.d COLLATE "C");
  END IF;
  FOREACH v_id IN ARRAY v_debit LOOP
    v_row := ledger_lock_account(p_tenant_id, v_id, true);
    CONTINUE WHEN v_row.id IS NULL;
    RETURN QUERY SELECT (v_row).*, ledger_cap_of(v_row), true;
  END LOOP;
  FOREACH v_id IN ARRAY p_credit_ids LOOP
    CONTINUE WHEN v_id = ANY(v_debit);
    v_row := ledger_lock_account(p_tenant_id, v_id, false);
    locked := v_row.id IS NOT NULL;
    IF NOT locked THEN
      v_row := ledger_read_account(p_tenant_id, v_id);
      CONTINUE WHEN v_row.id IS NULL;
    END IF;
    RETURN QUERY SELECT (v_row).*, ledger_cap_of(v_row), locked;
  END LOOP;
END $$;

-- As in 0011, with the account's KYC tier: returns the account's own limits and its tier's
-- (`tier_*`), the debits used today (from `p_today_first_entry_id`) and this month (from
-- `p_month_first_entry_id`), each counting `held`, and checks the effective limits (the lower of
-- account and tier) when `p_enforce_limits`. The store re-checks with the domain rules.
DROP FUNCTION ledger_place_hold(text, text, text, text, bigint, text, boolean, text);
CREATE FUNCTION ledger_place_hold(
  p_tenant_id text, p_hold_id text, p_idempotency_key text, p_account_id text, p_amount bigint, p_currency text,
  p_enforce_limits boolean, p_today_first_entry_id text, p_month_first_entry_id text
) RETURNS TABLE (
  outcome text, account_type text, account_currency char(3), per_transaction_max bigint, daily_debit_max bigint,
  monthly_debit_max bigint, tier_per_transaction_max bigint, tier_daily_debit_max bigint, tier_monthly_debit_max bigint,
  balance bigint, held bigint, spent_today bigint, spent_month bigint,
  hold_id text, hold_account_id text, hold_amount bigint, hold_currency char(3), hold_status text,
  hold_posted_amount bigint, hold_resolution_transaction_id text
) LANGUAGE plpgsql AS $$
DECLARE
  v_acc     accounts := ledger_lock_account(p_tenant_id, p_account_id, true);
  v_tier    kyc_tiers;
  v_per_tx  bigint;
  v_daily   bigint;
  v_monthly bigint;
  v_hold    holds;
BEGIN
  IF v_acc.id IS NOT NULL THEN
    SELECT t.* INTO v_tier FROM kyc_tiers t
    WHERE t.tenant_id = p_tenant_id AND t.level = v_acc.kyc_level AND t.currency = v_acc.currency;
    account_type := v_acc.type; account_currency := v_acc.currency; balance := v_acc.balance; held := v_acc.held;
    per_transaction_max := v_acc.per_transaction_max; daily_debit_max := v_acc.daily_debit_max;
    monthly_debit_max := v_acc.monthly_debit_max; tier_per_transaction_max := v_tier.per_transaction_max;
    tier_daily_debit_max := v_tier.daily_debit_max; tier_monthly_debit_max := v_tier.monthly_debit_max;
    v_per_tx := least(per_transaction_max, tier_per_transaction_max);
    v_daily := least(daily_debit_max, tier_daily_debit_max);
    v_monthly := least(monthly_debit_max, tier_monthly_debit_max);
    spent_today := 0; spent_month := 0;
    IF p_enforce_limits AND v_daily IS NOT NULL THEN
      SELECT coalesce(sum(e.amount), 0) + v_acc.held INTO spent_today FROM ledger_entries e
      WHERE e.account_id = p_account_id AND e.id >= p_today_first_entry_id AND e.direction = 'debit';
    END IF;
    IF p_enforce_limits AND v_monthly IS NOT NULL THEN
      SELECT coalesce(sum(e.amount), 0) + v_acc.held INTO spent_month FROM ledger_entries e
      WHERE e.account_id = p_account_id AND e.id >= p_month_first_entry_id AND e.direction = 'debit';
    END IF;
    IF v_acc.currency = p_currency
       AND (NOT p_enforce_limits OR ((v_per_tx IS NULL OR p_amount <= v_per_tx)
                                     AND (v_daily IS NULL OR spent_today + p_amount <= v_daily)
                                     AND (v_monthly IS NULL OR spent_month + p_amount <= v_monthly)))
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

-- As in 0011, with the payee's balance cap. A payee without a cap is still credited without
-- waiting for its lock (a pending credit when the lock is taken: a hot merchant does not serialize
-- its payers). A payee WITH a cap is waited for: both accounts are locked in sorted id order (the
-- one lock order of every waiting ledger write, so no deadlock), and the post is refused unless
-- its stored balance (pending credits folded in under the lock) + amount <= cap. Returns
-- `credit_balance_cap` and `credit_balance` (as checked) so the store re-checks the refusal with
-- the domain rules: outcome 'posted' | 'replayed' | 'hold_missing' | 'refused' (nothing written).
DROP FUNCTION ledger_post_hold(text, text, text, bigint, text, text, text, text, text, text);
CREATE FUNCTION ledger_post_hold(
  p_tenant_id text, p_hold_id text, p_credit_id text, p_amount bigint, p_idempotency_key text, p_kind text,
  p_reference_id text, p_transaction_id text, p_debit_entry_id text, p_credit_entry_id text
) RETURNS TABLE (
  outcome text, transaction_id text, hold_account_id text, hold_amount bigint, hold_currency char(3), hold_status text,
  hold_posted_amount bigint, hold_resolution_transaction_id text, debit_currency char(3), credit_currency char(3),
  credit_balance_cap bigint, credit_balance bigint
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
  IF p_credit_id <> hold_account_id THEN credit_balance_cap := ledger_balance_cap(p_tenant_id, p_credit_id); END IF;
  IF credit_balance_cap IS NOT NULL AND p_credit_id COLLATE "C" < hold_account_id COLLATE "C" THEN
    v_payee := ledger_lock_account(p_tenant_id, p_credit_id, true);
    v_payer := ledger_lock_account(p_tenant_id, hold_account_id, true);
  ELSE
    v_payer := ledger_lock_account(p_tenant_id, hold_account_id, true);
    IF p_credit_id = hold_account_id THEN
      v_payee := v_payer;
    ELSE
      v_payee := ledger_lock_account(p_tenant_id, p_credit_id, credit_balance_cap IS NOT NULL);
    END IF;
  END IF;
  v_credit_locked := v_payee.id IS NOT NULL;
  IF NOT v_credit_locked THEN v_payee := ledger_read_account(p_tenant_id, p_credit_id); END IF;
  debit_currency := v_payer.currency; credit_currency := v_payee.currency;
  IF credit_balance_cap IS NOT NULL THEN
    -- Read again under the lock: the cap the write is checked against is the one in force now.
    credit_balance_cap := ledger_cap_of(v_payee); credit_balance := v_payee.balance;
  END IF;

  SELECT h.amount, h.currency, h.status, h.posted_amount, h.resolution_transaction_id,
         (SELECT t.id FROM ledger_transactions t WHERE t.tenant_id = p_tenant_id AND t.idempotency_key = p_idempotency_key)
    INTO hold_amount, hold_currency, hold_status, hold_posted_amount, hold_resolution_transaction_id, transaction_id
    FROM holds h WHERE h.id = p_hold_id;
  IF transaction_id IS NOT NULL THEN outcome := 'replayed'; RETURN NEXT; RETURN; END IF;

  v_amount := coalesce(p_amount, hold_amount);
  IF hold_status <> 'active' OR v_amount > hold_amount OR v_amount <= 0
     OR debit_currency IS DISTINCT FROM hold_currency OR credit_currency IS DISTINCT FROM hold_currency
     OR (credit_balance_cap IS NOT NULL AND credit_balance + v_amount > credit_balance_cap) THEN
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

-- Back to 0011's functions on the old rowtype: drop ours, drop the columns, recreate 0011's verbatim.
DROP FUNCTION ledger_post_hold(text, text, text, bigint, text, text, text, text, text, text);
DROP FUNCTION ledger_place_hold(text, text, text, text, bigint, text, boolean, text, text);
DROP FUNCTION ledger_lock_accounts(text, text[], text[], text);
DROP FUNCTION ledger_balance_cap(text, text);
DROP FUNCTION ledger_cap_of(accounts);
DROP FUNCTION ledger_read_account(text, text);
ALTER TABLE accounts DROP COLUMN balance_max, DROP COLUMN monthly_debit_max, DROP COLUMN kyc_level;
DROP TABLE kyc_tiers;

CREATE FUNCTION ledger_read_account(p_tenant_id text, p_account_id text)
RETURNS accounts LANGUAGE sql STABLE AS $$
  SELECT a.id, a.tenant_id, a.type, a.currency, a.owner_id, a.per_transaction_max, a.daily_debit_max, a.metadata,
         a.balance + coalesce((SELECT sum(p.amount) FROM ledger_pending_credits p WHERE p.account_id = a.id), 0)::bigint,
         a.held, a.created_at
  FROM accounts a WHERE a.id = p_account_id AND a.tenant_id = p_tenant_id
$$;

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
