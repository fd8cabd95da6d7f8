import Logging
import ServiceLifecycle

/// A background loop (mail delivery, session clean-up, later the worker's jobs) that stops at
/// graceful shutdown. A failed pass is logged and the loop carries on with the next.
public struct PeriodicService: Service {
    public let name: String
    public let interval: Duration
    /// How long after start the first round runs (the rest follow `interval` apart).
    public let firstRunAfter: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void

    public init(name: String, interval: Duration, firstRunAfter: Duration = .zero, logger: Logger,
                work: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.firstRunAfter = firstRunAfter
        self.logger = logger
        self.work = work
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            if firstRunAfter > .zero { try? await Task.sleep(for: firstRunAfter) }
            while !Task.isCancelled {
                do {
                    try await work()
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("background task failed", metadata: ["task": "\(name)", "error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
