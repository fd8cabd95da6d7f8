-- Recurring payments: autopay enrolments, payment plans, and the scheduled charges the worker runs.

-- Autopay pays each invoice on its due date, or a set number of days before. The consent the
-- customer gave is kept word for word with its version, who gave it, when and from where.
CREATE TABLE autopay_enrollments (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    payment_method_id   TEXT NOT NULL REFERENCES payment_methods(id),
    timing              TEXT NOT NULL CHECK (timing IN ('due_date', 'days_before')),
    days_before         INTEGER NOT NULL DEFAULT 0 CHECK (days_before BETWEEN 0 AND 30),
    status              TEXT NOT NULL CHECK (status IN ('active', 'paused', 'cancelled')),
    consent_version     TEXT NOT NULL,
    consent_text        TEXT NOT NULL,
    consented_by        TEXT NOT NULL REFERENCES customer_users(id),
    consented_at        INTEGER NOT NULL,
    consent_address     TEXT NOT NULL,
    consent_user_agent  TEXT NOT NULL DEFAULT '',
    -- Invoices due on or after this date are covered; older ones are paid by hand.
    covers_from         TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX autopay_one_live ON autopay_enrollments(account_id) WHERE status <> 'cancelled';

-- A fixed amount weekly or monthly until the account's balance in that currency is paid or the
-- end date passes.
CREATE TABLE payment_plans (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    payment_method_id   TEXT NOT NULL REFERENCES payment_methods(id),
    amount              INTEGER NOT NULL CHECK (amount > 0),
    currency            TEXT NOT NULL CHECK (length(currency) = 3),
    frequency           TEXT NOT NULL CHECK (frequency IN ('weekly', 'monthly')),
    start_date          TEXT NOT NULL,
    end_date            TEXT,
    status              TEXT NOT NULL CHECK (status IN ('active', 'paused', 'cancelled', 'completed')),
    consent_version     TEXT NOT NULL,
    consent_text        TEXT NOT NULL,
    consented_by        TEXT NOT NULL REFERENCES customer_users(id),
    consented_at        INTEGER NOT NULL,
    consent_address     TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX payment_plans_account ON payment_plans(account_id, status);

-- One row per charge the worker must make. The unique key makes planning idempotent (two workers
-- planning the same day insert each charge once); the lease makes running it exclusive; the
-- payment it made is found again by its request key after a crash, so it is never made twice.
CREATE TABLE scheduled_charges (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    source          TEXT NOT NULL CHECK (source IN ('autopay', 'plan')),
    source_id       TEXT NOT NULL,
    period_key      TEXT NOT NULL,           -- autopay: the invoice id; plan: the instalment date
    attempt         INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    run_on          TEXT NOT NULL,           -- the day it becomes due
    state           TEXT NOT NULL CHECK (state IN ('scheduled', 'running', 'awaiting', 'succeeded', 'failed', 'skipped')),
    lease_owner     TEXT,
    lease_until     INTEGER,
    payment_id      TEXT REFERENCES payments(id),
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (source, source_id, period_key, attempt)
);
CREATE INDEX scheduled_charges_due ON scheduled_charges(state, run_on);
CREATE INDEX scheduled_charges_account ON scheduled_charges(account_id, run_on);

-- Reminders and notices go out once per subject and occasion, however often the worker runs.
CREATE TABLE notices_sent (
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    occasion    TEXT NOT NULL,
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (kind, subject_id, occasion)
);
