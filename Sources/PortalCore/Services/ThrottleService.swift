import Crypto
import GRDB

public struct ThrottlePolicy: Sendable {
    /// Failures before each further attempt must wait, doubling from one second.
    public var slowDownAfter: Int = 5
    /// Failures that lock the scope.
    public var lockAfter: Int = 10
    public var lockDuration: Int64 = 15 * 60
    /// Failures are forgotten after this long without another.
    public var window: Int64 = 15 * 60
    /// One client address may fail more often than one account (offices share addresses), but not forever.
    public var addressLockAfter: Int = 50

    public init() {}
}

public enum ThrottleVerdict: Sendable, Equatable {
    case allowed
    case slowDown(retryAfter: Int64)
    case locked(retryAfter: Int64)
}

/// Counts failed password and code attempts per email and per client address. Scopes are keyed by
/// a hash of the email, whether or not an account exists, so responses never reveal which emails are real.
public struct ThrottleService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock
    public let policy: ThrottlePolicy

    public init(db: any DatabaseWriter, clock: PortalClock, policy: ThrottlePolicy = ThrottlePolicy()) {
        self.db = db
        self.clock = clock
        self.policy = policy
    }

    public static func emailScope(_ email: String) -> String {
        "email:" + SHA256.hash(data: Array(normalizeEmail(email).utf8)).hexString
    }

    public static func addressScope(_ address: String) -> String { "addr:" + address }

    public func verdict(email: String, address: String) async throws -> ThrottleVerdict {
        let now = clock.nowSeconds()
        let policy = self.policy
        return try await db.read { db in
            let emailVerdict = try Self.verdict(scope: Self.emailScope(email), lockAfter: policy.lockAfter, slow: true, policy: policy, now: now, db)
            if emailVerdict != .allowed { return emailVerdict }
            return try Self.verdict(scope: Self.addressScope(address), lockAfter: policy.addressLockAfter, slow: false, policy: policy, now: now, db)
        }
    }

    /// Whether the email's scope is locked, for messages that say so.
    public func isLocked(email: String) async throws -> Bool {
        let now = clock.nowSeconds()
        let policy = self.policy
        let verdict = try await db.read { db in
            try Self.verdict(scope: Self.emailScope(email), lockAfter: policy.lockAfter, slow: false, policy: policy, now: now, db)
        }
        if case .locked = verdict { return true }
        return false
    }

    public func recordFailure(email: String, address: String) async throws {
        let now = clock.nowSeconds()
        let policy = self.policy
        try await db.write { db in
            try Self.fail(scope: Self.emailScope(email), lockAfter: policy.lockAfter, policy: policy, now: now, db)
            try Self.fail(scope: Self.addressScope(address), lockAfter: policy.addressLockAfter, policy: policy, now: now, db)
        }
    }

    /// A full sign-in, or a reset by email, clears the account's counter (not the address's).
    public func clear(email: String) async throws {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM sign_in_throttle WHERE scope = ?", arguments: [Self.emailScope(email)])
        }
    }

    private static func verdict(scope: String, lockAfter: Int, slow: Bool, policy: ThrottlePolicy, now: Int64, _ db: Database) throws -> ThrottleVerdict {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sign_in_throttle WHERE scope = ?", arguments: [scope]) else {
            return .allowed
        }
        let failures: Int = row["failures"]
        let last: Int64 = row["last_failure_at"]
        if let until: Int64 = row["locked_until"], until > now { return .locked(retryAfter: until - now) }
        if last + policy.window <= now { return .allowed }
        if slow && failures >= policy.slowDownAfter && failures < lockAfter {
            let wait = Int64(1) << Int64(min(failures - policy.slowDownAfter, 10))
            if last + wait > now { return .slowDown(retryAfter: last + wait - now) }
        }
        return .allowed
    }

    private static func fail(scope: String, lockAfter: Int, policy: ThrottlePolicy, now: Int64, _ db: Database) throws {
        let row = try Row.fetchOne(db, sql: "SELECT * FROM sign_in_throttle WHERE scope = ?", arguments: [scope])
        var failures = 1
        if let row {
            let last: Int64 = row["last_failure_at"]
            let lockedUntil: Int64? = row["locked_until"]
            let expiredLock = lockedUntil.map { $0 <= now } ?? false
            failures = (last + policy.window <= now || expiredLock) ? 1 : (row["failures"] as Int) + 1
        }
        let lockedUntil: Int64? = failures >= lockAfter ? now + policy.lockDuration : nil
        try db.execute(sql: """
            INSERT INTO sign_in_throttle (scope, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)
            ON CONFLICT(scope) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
                locked_until = excluded.locked_until
            """, arguments: [scope, failures, now, lockedUntil])
    }
}
