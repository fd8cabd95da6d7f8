import GRDB
import Synchronization
import Testing
@testable import PortalCore

/// The session lookup's inline connections and the page reads' lanes read the same database as the
/// pool: they must see every committed write at once (a revoked session is gone on the next request),
/// report errors, and stay usable after one.
@Suite struct HotReadsTests {
    static func seeded() throws -> TestDatabase {
        let db = try TestDatabase(migrate: false)
        try db.pool.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO t (value) VALUES ('one')")
        }
        return db
    }

    static func values(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT value FROM t ORDER BY id")
    }

    struct Broken: Error {}

    @Test func inlineReadsSeeEachCommittedWriteAtOnce() async throws {
        let db = try Self.seeded()
        let reader = try InlineReader(pool: db.pool, connections: 2)
        #expect(try await reader.read(Self.values) == ["one"])
        try await db.pool.write { try $0.execute(sql: "INSERT INTO t (value) VALUES ('two')") }
        #expect(try await reader.read(Self.values) == ["one", "two"])
        try await db.pool.write { try $0.execute(sql: "DELETE FROM t") }
        #expect(try await reader.read(Self.values) == [])
    }

    @Test func inlineReadErrorsReachTheCallerAndTheConnectionIsReused() async throws {
        let db = try Self.seeded()
        let reader = try InlineReader(pool: db.pool, connections: 1)
        await #expect(throws: Broken.self) { try await reader.read { db -> Int in _ = try Self.values(db); throw Broken() } }
        await #expect(throws: DatabaseError.self) { try await reader.read { try Int.fetchOne($0, sql: "SELECT nope FROM t") } }
        // The failed reads ended their transactions: a write after them is seen.
        try await db.pool.write { try $0.execute(sql: "INSERT INTO t (value) VALUES ('two')") }
        #expect(try await reader.read(Self.values) == ["one", "two"])
        // Inline connections are read-only.
        await #expect(throws: DatabaseError.self) { try await reader.read { try $0.execute(sql: "DELETE FROM t") } }
        #expect(try await reader.read(Self.values) == ["one", "two"])
    }

    @Test func moreReadsThanInlineConnectionsGoToThePool() async throws {
        let db = try Self.seeded()
        for connections in [0, 1] {
            let reader = try InlineReader(pool: db.pool, connections: connections)
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<64 { group.addTask { try await reader.read(Self.values) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 64 && results.allSatisfy { $0 == ["one"] })
        }
    }

    @Test func lanesSeeEachCommittedWriteAndReportErrors() async throws {
        let db = try Self.seeded()
        let lanes = try ReadLanes(pool: db.pool, lanes: 2)
        #expect(try await lanes.read(Self.values) == ["one"])
        try await db.pool.write { try $0.execute(sql: "INSERT INTO t (value) VALUES ('two')") }
        #expect(try await lanes.read(Self.values) == ["one", "two"])
        for _ in 0..<4 {  // both lanes, each after its own failure
            await #expect(throws: Broken.self) { try await lanes.read { db -> Int in _ = try Self.values(db); throw Broken() } }
        }
        try await db.pool.write { try $0.execute(sql: "UPDATE t SET value = 'changed' WHERE id = 1") }
        for _ in 0..<4 { #expect(try await lanes.read(Self.values) == ["changed", "two"]) }
        await #expect(throws: DatabaseError.self) { try await lanes.read { try $0.execute(sql: "DELETE FROM t") } }
    }

    @Test func manyConcurrentLaneReadsAllFinishWhileTheWriterWrites() async throws {
        let db = try Self.seeded()
        let lanes = try ReadLanes(pool: db.pool, lanes: 2)
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for index in 0..<50 { try await db.pool.write { try $0.execute(sql: "INSERT INTO t (value) VALUES (?)", arguments: ["w\(index)"]) } }
                return -1
            }
            for _ in 0..<200 {
                // Each read is one snapshot: its two counts agree even while rows are being added.
                group.addTask {
                    try await lanes.read { db in
                        let first = try Int.fetchOne(db, sql: "SELECT count(*) FROM t")!
                        let again = try Int.fetchOne(db, sql: "SELECT count(*) FROM t")!
                        return first == again ? first : -2
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(counts.count == 201 && !counts.contains(-2) && counts.filter { $0 > 0 }.count == 200)
        #expect(try await lanes.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM t") } == 51)
    }

    /// The session lookup runs inline: signing out elsewhere ends the session on the very next lookup.
    @Test func aRevokedSessionIsGoneOnTheNextLookup() async throws {
        let db = try TestDatabase()
        let inline = try InlineReader(pool: db.pool, connections: 2)
        let sessions = SessionService(db: db.pool, clock: ManualClock().clock, inline: inline)
        let other = SessionService(db: db.pool, clock: ManualClock().clock)
        let (token, record) = try await sessions.create(for: .customer("u1"), stage: .complete, client: .init(address: "1.2.3.4"))
        #expect(try await sessions.lookup(token: token)?.session == record)
        try await other.destroy(record)
        #expect(try await sessions.lookup(token: token) == nil)
    }
}
