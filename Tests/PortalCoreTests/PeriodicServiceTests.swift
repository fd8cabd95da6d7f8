import Foundation
import Logging
import Testing
@testable import PortalCore

@Suite struct PeriodicServiceTests {
    /// Starts the service and returns how long after start its first round ran.
    static func firstRound(after firstRunAfter: Duration) async throws -> Duration {
        let started = ContinuousClock.now
        let (rounds, signal) = AsyncStream<ContinuousClock.Instant>.makeStream()
        let service = PeriodicService(name: "t", interval: .seconds(3_600), firstRunAfter: firstRunAfter, logger: Logger(label: "t")) {
            signal.yield(ContinuousClock.now)
        }
        let task = Task { try await service.run() }
        defer { task.cancel() }
        var iterator = rounds.makeAsyncIterator()
        let first = try #require(await iterator.next())
        return first - started
    }

    /// A slow job (the deletion scan) can wait before its first round instead of running at every start.
    @Test func theFirstRoundWaitsOnlyWhenToldTo() async throws {
        #expect(try await Self.firstRound(after: .milliseconds(400)) >= .milliseconds(400))
        // Without a wait, the first round runs at once (no upper bound is asserted: a busy machine may be slow).
        _ = try await Self.firstRound(after: .zero)
    }
}
