import GRDB
import Synchronization

/// A short read run on the calling task's own thread, through a few read-only connections of its
/// own, instead of through `DatabasePool`'s async `read`, whose four thread hand-offs (to the queue
/// that waits for a free reader, back, to that reader's queue, back) cost more CPU than the SQL of a
/// read that finds one row by a unique index.
///
/// Only such reads belong here; every request's session lookup is the one that does (see
/// docs/PERFORMANCE.md). A read holds up the cooperative thread it runs on, so a longer one would
/// delay other requests: running the invoice list's read this way as well was measured to stretch
/// the list's p99 at 64 connections from 17–21 ms to 22–46 ms.
///
/// When every inline connection is in use (more reads at once than cooperative threads), the read
/// goes to the pool as before, so a caller never waits for one. Each read is its own transaction
/// (`ReadTransaction`), as a pool read is.
public final class InlineReader: Sendable {
    private let idle: Mutex<[DatabaseQueue]>
    private let fallback: any DatabaseReader

    /// `connections`: how many reads may run inline at once; one per cooperative thread suffices,
    /// since an inline read never suspends. Zero sends every read to the pool.
    public init(pool: DatabasePool, connections: Int) throws {
        idle = Mutex(try (0..<max(0, connections)).map { _ in try ReadTransaction.connection(to: pool, label: "portal.inline-reader") })
        fallback = pool
    }

    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        guard let connection = idle.withLock({ $0.popLast() }) else {
            return try await fallback.read(body)
        }
        defer { idle.withLock { $0.append(connection) } }
        return try connection.inDatabase { db in ReadTransaction.run(db, body) }.get()
    }
}
