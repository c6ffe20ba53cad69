-- Up Migration

-- Card and loan products: global reference data, the same catalogue for every tenant (no
-- tenant_id), read by tenants (GET /v1/products) and changed by the admin key only
-- (PUT /v1/admin/products/:id). Reads are cached (platform/cache, kind `product`); every update
-- bumps `version` and invalidates the cached copies on every API instance.
-- Money in `terms` is integer minor units with its currency; rates and percentages are decimal
-- strings: never floats.
CREATE TABLE products (
  id          text PRIMARY KEY CHECK (id ~ '^prod_[a-z0-9_]{1,60}$'),
  type        text NOT NULL CHECK (type IN ('card', 'loan')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  terms       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(terms) = 'object'),
  active      boolean NOT NULL DEFAULT true,
  version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO products (id, type, name, description, terms) VALUES
  ('prod_card_classic', 'card', 'Classic card', 'A debit card on your wallet, no annual fee.',
   '{"annual_fee": {"amount": 0, "currency": "USD"}, "fx_fee_percent": "1.5", "atm_withdrawals_free_per_month": 3}'),
  ('prod_card_gold', 'card', 'Gold credit card', 'A credit card with cashback and travel insurance.',
   '{"annual_fee": {"amount": 9900, "currency": "USD"}, "apr_percent": "19.99", "cashback_percent": "1.5", "credit_limit_max": {"amount": 2000000, "currency": "USD"}}'),
  ('prod_card_business', 'card', 'Business card', 'A card for merchants, with spending controls per employee.',
   '{"annual_fee": {"amount": 0, "currency": "USD"}, "fx_fee_percent": "0", "cards_max": 50}'),
  ('prod_loan_personal', 'loan', 'Personal loan', 'An unsecured loan at a fixed rate.',
   '{"apr_min_percent": "6.49", "apr_max_percent": "24.99", "amount_min": {"amount": 100000, "currency": "USD"}, "amount_max": {"amount": 5000000, "currency": "USD"}, "term_months_min": 12, "term_months_max": 60}'),
  ('prod_loan_auto', 'loan', 'Auto loan', 'A loan secured by the vehicle.',
   '{"apr_min_percent": "4.99", "apr_max_percent": "14.99", "amount_min": {"amount": 500000, "currency": "USD"}, "amount_max": {"amount": 10000000, "currency": "USD"}, "term_months_min": 24, "term_months_max": 84}'),
  ('prod_loan_small_business', 'loan', 'Small business loan', 'Working capital for merchants.',
   '{"apr_min_percent": "7.5", "apr_max_percent": "18", "amount_min": {"amount": 1000000, "currency": "USD"}, "amount_max": {"amount": 25000000, "currency": "USD"}, "term_months_min": 6, "term_months_max": 36}');

-- Down Migration

DROP TABLE products;
