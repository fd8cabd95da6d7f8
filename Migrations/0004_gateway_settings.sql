-- The configured card gateway. Secrets (API keys, webhook secrets) are AES-GCM sealed with the
-- data key and bound to the gateway's name; public settings (URLs, publishable keys) are plain JSON.
CREATE TABLE gateway_settings (
    gateway          TEXT PRIMARY KEY,
    active           INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    public_settings  TEXT NOT NULL DEFAULT '{}',
    secrets_sealed   BLOB NOT NULL,
    updated_at       INTEGER NOT NULL,
    updated_by       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX gateway_settings_one_active ON gateway_settings(active) WHERE active = 1;
