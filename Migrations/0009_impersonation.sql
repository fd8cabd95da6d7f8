-- Support staff viewing the portal as a customer. One row per impersonation, kept after it ends:
-- who, whom, why, when, from where, and how it ended. At most one live impersonation per staff
-- session, so impersonations never nest.
CREATE TABLE impersonations (
    id                  TEXT PRIMARY KEY,
    staff_id            TEXT NOT NULL REFERENCES staff_users(id),
    staff_session_hash  TEXT NOT NULL,
    customer_user_id    TEXT NOT NULL REFERENCES customer_users(id),
    reason_category     TEXT NOT NULL,
    reason_text         TEXT NOT NULL CHECK (length(reason_text) > 0),
    started_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    ended_at            INTEGER,
    end_reason          TEXT CHECK (end_reason IN ('stopped', 'expired', 'signed_out')),
    client_address      TEXT NOT NULL,
    user_agent          TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX impersonations_one_live ON impersonations(staff_session_hash) WHERE ended_at IS NULL;
CREATE INDEX impersonations_customer ON impersonations(customer_user_id, started_at);
