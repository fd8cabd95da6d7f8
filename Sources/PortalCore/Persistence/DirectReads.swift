import Dispatch
import GRDB

/// Reads for the hottest requests, run with GRDB's synchronous `read` on a dispatch thread.
///
/// GRDB's async `read` switches threads four times (to the pool's semaphore queue, back to the
/// cooperative pool, to the reader's queue, back again); on the invoice list those switches cost more
/// than the SQL. Here the read is handed to a dispatch thread once and the task resumes when it is
/// done: two switches. At most `limit` reads are handed over at a time (the pool's reader count), so
/// a dispatch thread never waits for a connection and a burst queues as suspended tasks instead of
/// blocked threads. The SQL still runs off the cooperative threads, which keeps them free for other
/// requests (running reads inline on them was tried: less CPU, but a worse p99; docs/PERFORMANCE.md).
public final class DirectReads: Sendable {
    private let pool: DatabasePool
    private let queue = DispatchQueue(label: "PortalCore.DirectReads", attributes: .concurrent)
    private let slots: AsyncSemaphore

    public init(pool: DatabasePool) {
        self.pool = pool
        slots = AsyncSemaphore(value: max(1, pool.configuration.maximumReaderCount))
    }

    public func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        await slots.wait()
        defer { slots.signal() }
        let pool = self.pool
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try pool.read(value) })
            }
        }
    }
}
