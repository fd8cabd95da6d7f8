-- Paying. Every charge is a `payments` row written *before* the gateway is called, so a retry, a
-- double click, a second worker or a crash finds it and never charges again; the gateway gets the
-- payment's id as its idempotency key, which is what the reconciler looks the charge up by.

-- The key issued with the payment form (or derived from a scheduled charge): the same form posted
-- twice maps to the same payment. Scoped to the account so one customer's key never reveals another's.
ALTER TABLE payments ADD COLUMN request_key TEXT;
ALTER TABLE payments ADD COLUMN source TEXT NOT NULL DEFAULT 'external'
    CHECK (source IN ('external', 'portal', 'autopay', 'plan', 'staff_assisted', 'payment_link'));
ALTER TABLE payments ADD COLUMN payment_method_id TEXT REFERENCES payment_methods(id);
ALTER TABLE payments ADD COLUMN initiated_by TEXT;
-- 'created' → written, gateway not yet called; 'sent' → the call was made (or may have been);
-- 'settled' → the outcome is recorded. The reconciler looks up every pending payment left unsettled.
ALTER TABLE payments ADD COLUMN gateway_phase TEXT NOT NULL DEFAULT 'settled'
    CHECK (gateway_phase IN ('created', 'sent', 'settled'));
-- 3-D Secure: the gateway's client secret the page needs to finish authentication.
ALTER TABLE payments ADD COLUMN action_client_secret TEXT;
-- What a payment brought in beyond the invoices' balances, kept as the account's credit.
ALTER TABLE payments ADD COLUMN unapplied_amount INTEGER NOT NULL DEFAULT 0 CHECK (unapplied_amount >= 0);
ALTER TABLE payments ADD COLUMN decline_retryable INTEGER;
ALTER TABLE payments ADD COLUMN updated_at INTEGER;
CREATE UNIQUE INDEX payments_request_key ON payments(account_id, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX payments_unsettled ON payments(gateway_phase, created_at) WHERE gateway_phase <> 'settled';
CREATE INDEX payments_transaction ON payments(gateway, gateway_transaction_id) WHERE gateway_transaction_id IS NOT NULL;

-- The invoices a payment was made for, in the order chosen. Allocations are written when it succeeds,
-- against the balances at that moment.
CREATE TABLE payment_requested_invoices (
    payment_id  TEXT NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
    invoice_id  TEXT NOT NULL REFERENCES invoices(id) ON DELETE RESTRICT,
    PRIMARY KEY (payment_id, invoice_id)
);

CREATE TABLE payment_refunds (
    id                 TEXT PRIMARY KEY,
    payment_id         TEXT NOT NULL REFERENCES payments(id) ON DELETE RESTRICT,
    kind               TEXT NOT NULL CHECK (kind IN ('refund', 'void')),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    gateway_refund_id  TEXT,
    reason             TEXT NOT NULL,
    actor              TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX payment_refunds_payment ON payment_refunds(payment_id);

-- Gateway webhooks, each stored once by the gateway's event id and processed by the worker.
CREATE TABLE webhook_events (
    gateway         TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    transaction_id  TEXT,
    occurred_at     INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    processed_at    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    PRIMARY KEY (gateway, event_id)
);
CREATE INDEX webhook_events_unprocessed ON webhook_events(received_at) WHERE processed_at IS NULL;
