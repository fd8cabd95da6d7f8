-- The staff console: finding customers and reading the audit trail.

-- Customer search matches invoice numbers from their start, ignoring case (LIKE 'x%'); SQLite answers
-- that from an index only when the index compares without case. Names, emails and accounts are
-- matched anywhere in the text, which no index serves; those tables hold a row per customer, not
-- a row per invoice.
CREATE INDEX invoices_number_nocase ON invoices(number COLLATE NOCASE);

-- The audit page filters by customer (the subject, or the account) whatever the subject's kind, and
-- shows the newest first; the indexes from 0001 are led by the kind.
CREATE INDEX audit_events_subject_id ON audit_events(subject_id, id);
CREATE INDEX audit_events_account ON audit_events(account_id, id);
CREATE INDEX audit_events_impersonator ON audit_events(impersonator_id, id) WHERE impersonator_id IS NOT NULL;
