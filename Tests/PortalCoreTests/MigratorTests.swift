import Foundation
import GRDB
import Testing
@testable import PortalCore

@Suite struct MigratorTests {
    private func scratchMigrations(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, sql) in files { try sql.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir.path
    }

    @Test func appliesInOrderAndRecordsChecksums() throws {
        let db = try TestDatabase(migrate: false)
        let dir = try scratchMigrations([
            "0002_second.sql": "ALTER TABLE t ADD COLUMN b TEXT;",
            "0001_first.sql": "CREATE TABLE t (a INTEGER);",
        ])
        let migrator = Migrator(directory: dir)
        #expect(try migrator.status(db.pool).pending == ["0001_first.sql", "0002_second.sql"])
        #expect(try migrator.migrate(db.pool) == ["0001_first.sql", "0002_second.sql"])
        #expect(try migrator.migrate(db.pool) == [])
        let state = try migrator.status(db.pool)
        #expect(state.applied.map(\.name) == ["0001_first.sql", "0002_second.sql"] && state.pending.isEmpty)
        let checksum = try db.pool.read { try String.fetchOne($0, sql: "SELECT checksum FROM schema_migrations WHERE name = '0001_first.sql'") }
        #expect(checksum?.count == 64)
    }

    @Test func refusesAnEditedAppliedMigrationByName() throws {
        let db = try TestDatabase(migrate: false)
        let dir = try scratchMigrations(["0001_first.sql": "CREATE TABLE t (a INTEGER);"])
        try Migrator(directory: dir).migrate(db.pool)
        try "CREATE TABLE t (a INTEGER, b TEXT);".write(toFile: dir + "/0001_first.sql", atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.checksumChanged("0001_first.sql")) { try Migrator(directory: dir).migrate(db.pool) }
        #expect(throws: MigrationError.checksumChanged("0001_first.sql")) { try Migrator(directory: dir).verify(db.pool) }
        #expect(MigrationError.checksumChanged("0001_first.sql").description.contains("0001_first.sql"))
    }

    @Test func aFailingMigrationChangesNothingAndNamesItself() throws {
        let db = try TestDatabase(migrate: false)
        let dir = try scratchMigrations(["0001_bad.sql": "CREATE TABLE ok (a INTEGER); CREATE TABLE broken (;"])
        #expect(throws: MigrationError.self) { try Migrator(directory: dir).migrate(db.pool) }
        let tables = try db.pool.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'ok'") }
        #expect(tables.isEmpty)
        #expect(try Migrator(directory: dir).status(db.pool).pending == ["0001_bad.sql"])
    }

    @Test func refusesBadNamesAndMissingFiles() throws {
        let db = try TestDatabase(migrate: false)
        #expect(throws: MigrationError.badFileName("first.sql")) { try Migrator(directory: try scratchMigrations(["first.sql": "SELECT 1;"])).migrate(db.pool) }
        let dir = try scratchMigrations(["0001_a.sql": "CREATE TABLE a (x);"])
        try Migrator(directory: dir).migrate(db.pool)
        try FileManager.default.removeItem(atPath: dir + "/0001_a.sql")
        #expect(throws: MigrationError.appliedFileMissing("0001_a.sql")) { try Migrator(directory: dir).verify(db.pool) }
    }

    @Test func theShippedMigrationsApplyWithForeignKeysAndWAL() throws {
        let db = try TestDatabase()
        let (journal, foreignKeys) = try db.pool.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(journal == "wal")
        #expect(foreignKeys == 1)
        #expect(throws: DatabaseError.self) {
            try db.pool.write { db in
                try db.execute(sql: "INSERT INTO account_memberships (user_id, account_id, created_at) VALUES ('nobody', 'nothing', 0)")
            }
        }
    }

    @Test func auditEventsAreAppendOnly() async throws {
        let db = try TestDatabase()
        let audit = AuditService(db: db.pool, clock: ManualClock().clock)
        try await audit.record(AuditEvent(action: "test", actorKind: .system))
        #expect(throws: DatabaseError.self) { try db.pool.write { try $0.execute(sql: "UPDATE audit_events SET action = 'x'") } }
        #expect(throws: DatabaseError.self) { try db.pool.write { try $0.execute(sql: "DELETE FROM audit_events") } }
        #expect(try await audit.events(action: "test").count == 1)
    }
}
