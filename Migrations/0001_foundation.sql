-- Foundation: accounts, people, sign-in, sessions, MFA, throttling, email tokens, audit, outgoing mail.
-- Timestamps are integer Unix seconds (UTC). Opaque ids are random text, never sequential.

CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    external_id  TEXT UNIQUE,                 -- Creatio Account.Id
    name         TEXT NOT NULL CHECK (length(name) > 0),
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE contacts (
    id           TEXT PRIMARY KEY,
    external_id  TEXT UNIQUE,                 -- Creatio Contact.Id
    account_id   TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    name         TEXT NOT NULL,
    email        TEXT COLLATE NOCASE,
    phone        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id);
CREATE INDEX contacts_email ON contacts(email);

CREATE TABLE customer_users (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name             TEXT NOT NULL DEFAULT '',
    password_hash    TEXT,                    -- NULL until the invitation is accepted
    status           TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_sign_in_at  INTEGER
);

-- One user may belong to several accounts.
CREATE TABLE account_memberships (
    user_id     TEXT NOT NULL REFERENCES customer_users(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id  TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, account_id)
);
CREATE INDEX account_memberships_account ON account_memberships(account_id);

CREATE TABLE staff_users (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name             TEXT NOT NULL DEFAULT '',
    role             TEXT NOT NULL CHECK (role IN ('support', 'finance', 'admin')),
    password_hash    TEXT,
    status           TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_sign_in_at  INTEGER
);

-- TOTP enrolment, for customers and staff alike. The secret is AES-GCM sealed with the data key.
CREATE TABLE mfa_credentials (
    principal_kind   TEXT NOT NULL CHECK (principal_kind IN ('customer', 'staff')),
    principal_id     TEXT NOT NULL,
    secret_sealed    BLOB NOT NULL,
    confirmed_at     INTEGER,                 -- NULL while enrolment is pending
    last_used_step   INTEGER,                 -- a TOTP time step is accepted at most once
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (principal_kind, principal_id)
);

CREATE TABLE recovery_codes (
    id               INTEGER PRIMARY KEY,
    principal_kind   TEXT NOT NULL CHECK (principal_kind IN ('customer', 'staff')),
    principal_id     TEXT NOT NULL,
    code_hash        TEXT NOT NULL,
    used_at          INTEGER,
    created_at       INTEGER NOT NULL,
    UNIQUE (principal_kind, principal_id, code_hash)
);

-- Server-side sessions; only the SHA-256 of the cookie value is stored.
CREATE TABLE sessions (
    id_hash          TEXT PRIMARY KEY,
    public_id        TEXT NOT NULL UNIQUE,    -- names the session on the account page without revealing the cookie
    principal_kind   TEXT NOT NULL CHECK (principal_kind IN ('customer', 'staff')),
    principal_id     TEXT NOT NULL,
    stage            TEXT NOT NULL CHECK (stage IN ('password', 'enrolment', 'complete')),
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,        -- absolute limit
    client_address   TEXT NOT NULL DEFAULT '',
    user_agent       TEXT NOT NULL DEFAULT '',
    active_account_id TEXT
);
CREATE INDEX sessions_principal ON sessions(principal_kind, principal_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Failed password / code attempts, per scope ("email:<sha256>", "addr:<ip>").
CREATE TABLE sign_in_throttle (
    scope            TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_failure_at  INTEGER NOT NULL,
    locked_until     INTEGER
);

CREATE TABLE email_tokens (
    token_hash       TEXT PRIMARY KEY,
    purpose          TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    principal_kind   TEXT NOT NULL CHECK (principal_kind IN ('customer', 'staff')),
    principal_id     TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER
);
CREATE INDEX email_tokens_principal ON email_tokens(principal_kind, principal_id, purpose);

-- Append-only: the triggers below refuse any UPDATE or DELETE.
CREATE TABLE audit_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at      INTEGER NOT NULL,
    action           TEXT NOT NULL,
    actor_kind       TEXT NOT NULL CHECK (actor_kind IN ('customer', 'staff', 'system', 'anonymous')),
    actor_id         TEXT,
    actor_label      TEXT NOT NULL DEFAULT '',
    impersonator_id  TEXT,
    subject_kind     TEXT,
    subject_id       TEXT,
    account_id       TEXT,
    client_address   TEXT NOT NULL DEFAULT '',
    outcome          TEXT NOT NULL DEFAULT 'success' CHECK (outcome IN ('success', 'failure')),
    details          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_actor ON audit_events(actor_kind, actor_id, occurred_at);
CREATE INDEX audit_events_subject ON audit_events(subject_kind, subject_id, occurred_at);
CREATE INDEX audit_events_action ON audit_events(action, occurred_at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- The outbox every email goes through, so an SMTP outage loses nothing.
CREATE TABLE outgoing_mail (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    to_address       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,
    html_body        TEXT,
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX outgoing_mail_due ON outgoing_mail(status, next_attempt_at);
