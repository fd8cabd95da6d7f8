import Foundation
import Synchronization

/// Runs CPU-heavy or blocking work (password hashing, PDF, SMTP) on threads outside the async executor,
/// with at most `limit` jobs at once, so a flood of such work queues up instead of starving page requests.
public final class BlockingPool: Sendable {
    private let queue: DispatchQueue
    private let slots: AsyncSemaphore

    public init(label: String, limit: Int) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
        slots = AsyncSemaphore(value: max(1, limit))
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        await slots.wait()
        defer { slots.signal() }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}

/// A counting semaphore for async code: waiters suspend rather than block a thread.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var value: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    public init(value: Int) { state = Mutex(State(value: value)) }

    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.value > 0 {
                    state.value -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    public func signal() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.value += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
