import GRDB
import PortalCore

/// Where a pull of one entity has got to: the newest ModifiedOn fully read and the ids read at
/// exactly that instant (in the order Creatio returned them).
struct SyncCursor: Sendable, Equatable {
    var lastModifiedOn: String?
    var boundaryIds: [String] = []
}

public struct SyncFailure: Sendable, Equatable {
    public var entity: String
    public var crmId: String
    public var error: String
    public var attempts: Int
    public var resolved: Bool
}

/// The sync's own tables (`creatio_sync_cursors`, `sync_failures`); portal data is written only
/// through the service layer.
struct CreatioSyncStore: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock

    func cursor(_ entity: String) async throws -> SyncCursor {
        try await db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT last_modified_on, boundary_ids FROM creatio_sync_cursors WHERE entity = ?",
                                             arguments: [entity]) else { return SyncCursor() }
            let ids: String = row["boundary_ids"]
            return SyncCursor(lastModifiedOn: row["last_modified_on"], boundaryIds: ids.split(separator: ",").map(String.init))
        }
    }

    func save(_ entity: String, _ cursor: SyncCursor, imported: Int, failed: Int) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: """
                INSERT INTO creatio_sync_cursors (entity, last_modified_on, last_id, boundary_ids, last_pull_at, pulled_count, failed_count)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (entity) DO UPDATE SET last_modified_on = excluded.last_modified_on, last_id = excluded.last_id,
                    boundary_ids = excluded.boundary_ids, last_pull_at = excluded.last_pull_at,
                    pulled_count = pulled_count + excluded.pulled_count, failed_count = failed_count + excluded.failed_count
                """, arguments: [entity, cursor.lastModifiedOn, cursor.boundaryIds.last, cursor.boundaryIds.joined(separator: ","), now,
                                 imported, failed])
        }
    }

    /// Files (or files again, reopened) a record that could not be imported. `once`: for a failure a
    /// scan would find again and again — a record already filed with this same error (open, or since
    /// resolved by staff) is left as it is, so it is not reopened; one filed for another reason is.
    func recordFailure(_ entity: String, crmId: String, error: String, once: Bool = false) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: """
                INSERT INTO sync_failures (entity, crm_id, error, first_seen_at, last_seen_at, attempts) VALUES (?, ?, ?, ?, ?, 1)
                ON CONFLICT (entity, crm_id) DO UPDATE SET error = excluded.error, last_seen_at = excluded.last_seen_at,
                    attempts = attempts + 1, resolved_at = NULL
                """ + (once ? " WHERE sync_failures.error != excluded.error" : ""), arguments: [entity, crmId, error, now, now])
        }
    }

    /// A record that imports clears its earlier failure.
    func resolve(_ entity: String, crmIds: [String]) async throws {
        guard !crmIds.isEmpty else { return }
        let now = clock.nowSeconds()
        try await db.write { db in
            // One statement per slice: a page of a large import as a rule resolves nothing.
            for slice in SQLValueSlices.of(crmIds) {
                try db.execute(sql: """
                    UPDATE sync_failures SET resolved_at = ? WHERE entity = ? AND resolved_at IS NULL
                    AND crm_id IN (\(databaseQuestionMarks(count: slice.count)))
                    """, arguments: [now, entity] + StatementArguments(slice))
            }
        }
    }

    func failures(_ entity: String? = nil) async throws -> [SyncFailure] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sync_failures WHERE ? IS NULL OR entity = ? ORDER BY first_seen_at, crm_id",
                             arguments: [entity, entity]).map {
                SyncFailure(entity: $0["entity"], crmId: $0["crm_id"], error: $0["error"], attempts: $0["attempts"],
                            resolved: ($0["resolved_at"] as Int64?) != nil)
            }
        }
    }

    /// The portal accounts synced from these CRM Account ids, by CRM id; unknown ids are absent.
    func accountIds(crmIds: [String]) async throws -> [String: String] {
        let wanted = Array(Set(crmIds))
        guard !wanted.isEmpty else { return [:] }
        return try await db.read { db in
            var ids: [String: String] = [:]
            for slice in SQLValueSlices.of(wanted) {
                for row in try Row.fetchAll(db, sql: "SELECT external_id, id FROM accounts WHERE external_id IN (\(databaseQuestionMarks(count: slice.count)))",
                                            arguments: StatementArguments(slice)) { ids[row["external_id"]] = row["id"] }
            }
            return ids
        }
    }
}
