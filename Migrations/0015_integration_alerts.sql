-- Integration alerts (sync failures piling up, the pull stalled, CRM pushes dead or late): one row
-- per incident, opened when its condition is first seen and closed when it clears. The email goes
-- out with the row that opens it, so however often the worker checks, an incident is told once,
-- and again only after it has cleared and come back.
CREATE TABLE integration_alert_incidents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('sync_failures', 'sync_stalled', 'outbox_dead', 'outbox_late')),
    detail      TEXT NOT NULL,
    opened_at   INTEGER NOT NULL,
    cleared_at  INTEGER
);
-- At most one open incident per kind, even with two workers checking at once.
CREATE UNIQUE INDEX integration_alert_incidents_open ON integration_alert_incidents(kind) WHERE cleared_at IS NULL;
