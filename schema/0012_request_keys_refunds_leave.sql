-- Up Migration

-- Issue #15 (chaos workload): a retry after the API died between doing a request's work and
-- storing its answer (the Idempotency-Key's record stays `in_flight` and is taken over once its
-- lock is stale) must find what the first attempt did, as transfers, top-ups, payments and
-- notifications already do (0007_request_keys.sql).
--
-- `leave_requests.request_key`: the client's Idempotency-Key of `POST /v1/leave-requests`. A retry
-- with the same key adopts the request its first attempt wrote (one request, one reservation)
-- instead of meeting it as an overlap (409 leave_conflict). Unique per tenant; NULL (no key)
-- never conflicts.
--
-- `refunds.request_key`: the key of `POST /v1/payments/:id/refunds`, written by the saga's refund
-- step with the row, so a retry answers with the refund its first attempt created (the same `re_`
-- id). Unique per payment: the refund step, which holds the payment's lock, then finds the
-- earlier refund instead of failing on it; the API refuses the same key on another payment or
-- for another amount (422 idempotency_key_reused) before anything is sent to the saga.

ALTER TABLE leave_requests
  ADD COLUMN request_key text CHECK (length(request_key) BETWEEN 1 AND 255),
  ADD CONSTRAINT leave_requests_request_key UNIQUE (tenant_id, request_key);

ALTER TABLE refunds
  ADD COLUMN request_key text CHECK (length(request_key) BETWEEN 1 AND 255),
  ADD CONSTRAINT refunds_request_key UNIQUE (payment_id, request_key);
-- The API's lookup by key across the tenant's payments (a key reused on another payment).
CREATE INDEX refunds_tenant_request_key ON refunds (tenant_id, request_key) WHERE request_key IS NOT NULL;

-- Down Migration

DROP INDEX refunds_tenant_request_key;
ALTER TABLE refunds DROP CONSTRAINT refunds_request_key, DROP COLUMN request_key;
ALTER TABLE leave_requests DROP CONSTRAINT leave_requests_request_key, DROP COLUMN request_key;
