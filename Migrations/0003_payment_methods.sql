-- Saved payment methods: a gateway token and display details only. Never a card number, CVC or full expiry date.

CREATE TABLE gateway_customers (
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    gateway       TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, gateway)
);

CREATE TABLE payment_methods (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    gateway            TEXT NOT NULL,
    gateway_method_id  TEXT NOT NULL,
    brand              TEXT NOT NULL,
    last4              TEXT NOT NULL CHECK (length(last4) = 4),
    exp_month          INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year           INTEGER NOT NULL CHECK (exp_year BETWEEN 2000 AND 2100),
    fingerprint        TEXT,
    billing_name       TEXT NOT NULL DEFAULT '',
    billing_postcode   TEXT NOT NULL DEFAULT '',
    is_default         INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_by         TEXT,
    created_at         INTEGER NOT NULL,
    removed_at         INTEGER,
    UNIQUE (gateway, gateway_method_id)
);
-- At most one default among an account's current methods.
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods(account_id) WHERE is_default = 1 AND removed_at IS NULL;
CREATE INDEX payment_methods_account ON payment_methods(account_id, removed_at, created_at);
