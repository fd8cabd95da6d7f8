-- Pull sync from Creatio. One cursor per CRM entity: the newest ModifiedOn fully read, and the ids
-- already read at exactly that instant, so the next pass can re-read from that instant inclusive
-- (nothing on a page or time boundary is skipped) without importing those records twice.
CREATE TABLE creatio_sync_cursors (
    entity TEXT PRIMARY KEY,
    last_modified_on TEXT,
    last_id TEXT,
    boundary_ids TEXT NOT NULL DEFAULT '',
    last_pull_at INTEGER,
    pulled_count INTEGER NOT NULL DEFAULT 0 CHECK (pulled_count >= 0),
    failed_count INTEGER NOT NULL DEFAULT 0 CHECK (failed_count >= 0)
);

-- A CRM record that could not be mapped is skipped, never stopping the pass; it is kept here until
-- a later version of it imports.
CREATE TABLE sync_failures (
    entity TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    error TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    resolved_at INTEGER,
    PRIMARY KEY (entity, crm_id)
);
CREATE INDEX sync_failures_open ON sync_failures(entity, last_seen_at) WHERE resolved_at IS NULL;
