import Foundation
import Synchronization

/// Time as the services see it, passed in so tests can fix or advance it.
public struct PortalClock: Sendable {
    private let nowFunction: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.nowFunction = now
    }

    public static let system = PortalClock { Date() }

    public func now() -> Date { nowFunction() }

    /// Unix seconds: every timestamp column in the database uses this unit.
    public func nowSeconds() -> Int64 { Int64(nowFunction().timeIntervalSince1970.rounded(.down)) }
}

/// A clock tests can move by hand.
public final class ManualClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }

    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }

    public var date: Date { current.withLock { $0 } }

    public var clock: PortalClock { PortalClock { [self] in self.date } }
}
