-- Invoices, their lines, payments and allocations. Money is integer minor units with an ISO 4217 code.
-- Dates without time (issue, due) are ISO 'YYYY-MM-DD' text, which sorts and compares correctly.

CREATE TABLE invoices (
    id                TEXT PRIMARY KEY,                 -- opaque, used in URLs
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE RESTRICT,
    external_id       TEXT UNIQUE,                      -- Creatio Invoice.Id
    number            TEXT NOT NULL,
    issue_date        TEXT NOT NULL CHECK (issue_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    due_date          TEXT NOT NULL CHECK (due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    currency          TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    subtotal          INTEGER NOT NULL,
    tax_total         INTEGER NOT NULL,
    total             INTEGER NOT NULL,
    amount_paid       INTEGER NOT NULL DEFAULT 0,
    balance           INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('draft', 'open', 'partially_paid', 'paid', 'void')),
    -- The CRM's totals are stored as sent; when they disagree with the lines this is set for staff to see.
    totals_mismatch   INTEGER NOT NULL DEFAULT 0 CHECK (totals_mismatch IN (0, 1)),
    bill_to_name      TEXT NOT NULL DEFAULT '',
    bill_to_address   TEXT NOT NULL DEFAULT '',
    notes             TEXT NOT NULL DEFAULT '',
    terms             TEXT NOT NULL DEFAULT '',
    crm_modified_on   TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- The list page filters by account and status and sorts by one of three keys; each sort has an index
-- led by the account so a page reads 25 rows whatever the table's size.
CREATE INDEX invoices_account_due ON invoices(account_id, due_date, id);
CREATE INDEX invoices_account_issue ON invoices(account_id, issue_date, id);
CREATE INDEX invoices_account_total ON invoices(account_id, total, id);
CREATE INDEX invoices_account_status_due ON invoices(account_id, status, due_date, id);
CREATE INDEX invoices_account_number ON invoices(account_id, number);

CREATE TABLE invoice_lines (
    id                TEXT PRIMARY KEY,
    invoice_id        TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    external_id       TEXT UNIQUE,                      -- Creatio InvoiceProduct.Id
    description       TEXT NOT NULL,
    quantity_milli    INTEGER NOT NULL,                 -- quantity × 1000 (three decimal places)
    unit_price        INTEGER NOT NULL,
    discount          INTEGER NOT NULL DEFAULT 0,
    tax               INTEGER NOT NULL DEFAULT 0,
    line_total        INTEGER NOT NULL,
    UNIQUE (invoice_id, position)
);

CREATE TABLE payments (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts(id) ON DELETE RESTRICT,
    amount                  INTEGER NOT NULL CHECK (amount > 0),
    currency                TEXT NOT NULL CHECK (length(currency) = 3),
    status                  TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded', 'voided')),
    method_brand            TEXT,
    method_last4            TEXT CHECK (method_last4 IS NULL OR length(method_last4) = 4),
    gateway                 TEXT,
    gateway_transaction_id  TEXT,
    authorization_code      TEXT,
    error_code              TEXT,
    error_message           TEXT,
    amount_refunded         INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL,
    settled_at              INTEGER
);
CREATE INDEX payments_account_created ON payments(account_id, created_at);

-- One payment may cover several invoices; one invoice may have several partial payments.
CREATE TABLE payment_allocations (
    payment_id   TEXT NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
    invoice_id   TEXT NOT NULL REFERENCES invoices(id) ON DELETE RESTRICT,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (payment_id, invoice_id)
);
CREATE INDEX payment_allocations_invoice ON payment_allocations(invoice_id);
