-- Signed payment links (`/pay/{token}`) and the API keys Creatio's processes ask for them with.

-- The keys links are signed with. Each is 32 random bytes sealed with the portal's master key
-- (SecretBox, bound to the key's id); the newest unretired key signs new links, and a link signed
-- by an older key keeps working until it expires or its key is retired.
CREATE TABLE payment_link_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sealed_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

-- One row per link issued. The token is not stored: it is rebuilt from the row and its key
-- (`{key}.{id}.{signature}`), so a copy of this table alone does not open any link.
CREATE TABLE payment_links (
    id          TEXT PRIMARY KEY,
    invoice_id  TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    key_id      INTEGER NOT NULL REFERENCES payment_link_keys(id),
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,              -- audit label: an API key's name, a staff email, 'cli'
    revoked_at  INTEGER,
    revoked_by  TEXT
);
CREATE INDEX payment_links_invoice ON payment_links(invoice_id, expires_at) WHERE revoked_at IS NULL;

-- Which link a payment was made through: its receipt is shown to that link only, and the card
-- vaulted for it is forgotten afterwards through it.
ALTER TABLE payments ADD COLUMN payment_link_id TEXT REFERENCES payment_links(id);

-- Bearer keys for the JSON API. Only the SHA-256 of the key is kept; the key is shown once.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,             -- space-separated, e.g. 'payment-links'
    key_hash      TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

-- Requests per key per fixed window, for the rate limit.
CREATE TABLE api_key_usage (
    key_id        TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    window_start  INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
