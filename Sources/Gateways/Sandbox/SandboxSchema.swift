import GRDB

/// The sandbox gateway's own database: a separate SQLite file, like a real gateway's separate
/// vault. It never holds a card number or CVC — only a fingerprint, brand, last 4 and expiry.
enum SandboxSchema {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS tokens (
                id TEXT PRIMARY KEY, brand TEXT NOT NULL, last4 TEXT NOT NULL, exp_month INTEGER NOT NULL,
                exp_year INTEGER NOT NULL, fingerprint TEXT NOT NULL, scenario TEXT NOT NULL, postal_code TEXT,
                created_at INTEGER NOT NULL, used_at INTEGER
            );
            CREATE TABLE IF NOT EXISTS customers (
                id TEXT PRIMARY KEY, reference TEXT NOT NULL, email TEXT, name TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS methods (
                id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), brand TEXT NOT NULL,
                last4 TEXT NOT NULL, exp_month INTEGER NOT NULL, exp_year INTEGER NOT NULL, fingerprint TEXT NOT NULL,
                scenario TEXT NOT NULL, created_at INTEGER NOT NULL, detached_at INTEGER
            );
            CREATE TABLE IF NOT EXISTS charges (
                id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL,
                customer_id TEXT NOT NULL, method_id TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL,
                status TEXT NOT NULL, decline_code TEXT, message TEXT, retryable INTEGER NOT NULL DEFAULT 0,
                authorization_code TEXT, client_secret TEXT, amount_refunded INTEGER NOT NULL DEFAULT 0,
                metadata TEXT NOT NULL DEFAULT '{}', created_at INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS refunds (
                id TEXT PRIMARY KEY, charge_id TEXT NOT NULL REFERENCES charges(id), amount INTEGER NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS voids (
                charge_id TEXT PRIMARY KEY REFERENCES charges(id), idempotency_key TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL
            );
            """)
    }
}
