import GRDB

/// One read-only transaction on a connection of our own (`InlineReader`, `ReadLanes`), as
/// `DatabasePool` runs its reads: BEGIN DEFERRED, the body, then COMMIT (ROLLBACK when the body
/// threw). A deferred transaction in WAL mode reads one consistent snapshot and never waits for the writer.
enum ReadTransaction {
    static func run<T>(_ db: Database, _ body: (Database) throws -> T) -> Result<T, any Error> {
        do {
            // A transaction an earlier read could not end is ended first, so no read sees an old
            // snapshot; if even that fails, this read fails with that error rather than guessing.
            if db.isInsideTransaction { try db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
            // Prepared once per connection: parsing BEGIN and COMMIT anew was ~2% of a list request's CPU.
            try db.cachedStatement(sql: "BEGIN DEFERRED TRANSACTION").execute()
        } catch {
            return .failure(error)
        }
        let result = Result { try body(db) }
        do {
            try db.cachedStatement(sql: result.succeeded ? "COMMIT TRANSACTION" : "ROLLBACK TRANSACTION").execute()
        } catch {
            // The body's own error is the one to report; an end that failed after a good read is reported itself.
            return result.succeeded ? .failure(error) : result
        }
        return result
    }

    /// A read-only connection to the pool's database file, configured as the pool's readers are.
    static func connection(to pool: DatabasePool, label: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.label = label
        return try DatabaseQueue(path: pool.path, configuration: configuration)
    }
}

private extension Result {
    var succeeded: Bool {
        if case .success = self { true } else { false }
    }
}
