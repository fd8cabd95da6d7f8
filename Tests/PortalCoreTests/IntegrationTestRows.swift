import GRDB
@testable import PortalCore

/// Rows the Creatio sync and the CRM pusher would write, written directly so the integration's
/// reads, actions and alerts can be checked against each state.
extension TestServices {
    func syncCursor(_ entity: String, lastPullAt: Int64, pulled: Int = 10, failed: Int = 0) async throws {
        try await database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO creatio_sync_cursors (entity, last_pull_at, pulled_count, failed_count) VALUES (?, ?, ?, ?)
                ON CONFLICT (entity) DO UPDATE SET last_pull_at = excluded.last_pull_at
                """, arguments: [entity, lastPullAt, pulled, failed])
        }
    }

    func syncFailures(_ count: Int, entity: String = "Invoice", error: String = "account x has not been synced") async throws {
        let now = clock.clock.nowSeconds()
        try await database.pool.write { db in
            for n in 0..<count {
                try db.execute(sql: "INSERT INTO sync_failures (entity, crm_id, error, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [entity, "crm-\(entity)-\(n)", error, now, now])
            }
        }
    }

    func resolveSyncFailures() async throws {
        let now = clock.clock.nowSeconds()
        try await database.pool.write { db in try db.execute(sql: "UPDATE sync_failures SET resolved_at = ?", arguments: [now]) }
    }

    @discardableResult
    func outboxRow(_ invoiceId: String, topic: String = "payment.result", status: String = "pending", attempts: Int = 0,
                   createdAt: Int64? = nil, leasedUntil: Int64? = nil, lastError: String? = nil, deliveredAt: Int64? = nil) async throws -> Int64 {
        let created = createdAt ?? clock.clock.nowSeconds()
        return try await database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO crm_outbox (topic, dedupe_key, invoice_id, status, attempts, next_attempt_at, leased_until, last_error, created_at, delivered_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [topic, OpaqueID.make("dk"), invoiceId, status, attempts, created + 3600, leasedUntil, lastError, created, deliveredAt])
            return db.lastInsertedRowID
        }
    }
}
