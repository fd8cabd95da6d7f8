-- What the CRM must be told (a payment's result, a refund, an invoice's payment link). A row is
-- written in the same transaction as the change it reports, so nothing is lost if the CRM is down
-- or the worker dies; the worker delivers due rows with retries and backoff, and a row is
-- delivered at most once per dedupe_key.
CREATE TABLE crm_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    topic           TEXT NOT NULL,                    -- e.g. 'payment.result', 'payment.refund', 'invoice.link'
    dedupe_key      TEXT NOT NULL UNIQUE,             -- one row per fact, however often it is enqueued
    invoice_id      TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    payment_id      TEXT REFERENCES payments(id) ON DELETE SET NULL,
    payload         TEXT NOT NULL DEFAULT '{}',        -- JSON: the facts to push, as of when they happened
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,                 -- unix seconds
    leased_until    INTEGER,                          -- a worker's claim, so two workers never push one row together
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX crm_outbox_due ON crm_outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX crm_outbox_invoice ON crm_outbox(invoice_id, id);
