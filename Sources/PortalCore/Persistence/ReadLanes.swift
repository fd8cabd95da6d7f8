import Foundation
import GRDB
import Synchronization

/// Bounded reads of the busiest pages (one page of an index-ordered list, one invoice) run here: a
/// few lanes, each one read-only connection and one serial queue, and a read goes to the lane with
/// the fewest reads waiting. A read costs two thread hand-offs (to the lane and back) instead of
/// `DatabasePool`'s four, with no semaphore, and reads leave each lane in the order they came.
///
/// Measured on the invoice list at 64 connections on 2 cores (docs/PERFORMANCE.md): 0.28–0.37 of
/// `/healthz`'s throughput through the pool, 0.40–0.46 through lanes, with p99 17–21 ms → 15–18 ms.
/// Running the same read on the request's own thread (as `InlineReader` does for sessions) was
/// cheaper still but stretched the p99 to 22–46 ms: requests then queue behind each other's SQL on
/// the cooperative threads instead of in one first-come order per lane.
///
/// Long reads (exports, reports) stay on the pool: a lane runs one read at a time, so a long read
/// would hold up the page reads queued behind it.
public final class ReadLanes: Sendable {
    private final class Lane: Sendable {
        let connection: DatabaseQueue
        let queue: DispatchQueue
        let waiting = Atomic<Int>(0)

        init(connection: DatabaseQueue, queue: DispatchQueue) {
            self.connection = connection
            self.queue = queue
        }
    }
    private let lanes: [Lane]

    /// `lanes`: one per core keeps every core able to read while no read waits on a thread switch.
    public init(pool: DatabasePool, lanes count: Int) throws {
        precondition(count > 0, "at least one read lane")
        lanes = try (0..<count).map { index in
            Lane(connection: try ReadTransaction.connection(to: pool, label: "portal.read-lane.\(index)"),
                 queue: DispatchQueue(label: "portal.read-lane.\(index)"))
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        var chosen = 0
        var fewest = Int.max
        for index in lanes.indices {
            let waiting = lanes[index].waiting.load(ordering: .relaxed)
            if waiting < fewest { (chosen, fewest) = (index, waiting) }
        }
        let lane = lanes[chosen]
        lane.waiting.add(1, ordering: .relaxed)
        return try await withCheckedThrowingContinuation { continuation in
            lane.queue.async {
                let result = lane.connection.inDatabase { db in ReadTransaction.run(db, body) }
                lane.waiting.subtract(1, ordering: .relaxed)
                continuation.resume(with: result)
            }
        }
    }
}
