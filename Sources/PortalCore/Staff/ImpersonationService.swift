import GRDB

/// A staff member viewing the portal as a customer, as the session middleware sees it.
public struct Impersonation: Sendable, Equatable {
    public var id: String
    public var staff: StaffUser
    public var customerUserId: String
    public var customerEmail: String
    public var reasonCategory: String
    public var reasonText: String
    public var startedAt: Int64
    public var expiresAt: Int64

    public func isExpired(now: Int64) -> Bool { now >= expiresAt }
}

public enum ImpersonationError: Error, Equatable, Sendable {
    case reasonRequired
    case unknownCategory
    case customerNotFound
    case customerNotActive
    /// The target's email belongs to a staff account: staff are never impersonated.
    case targetIsStaff
    case alreadyImpersonating
    case notSignedIn
}

public struct ImpersonationPolicy: Sendable, Equatable {
    public var timeLimitSeconds: Int64
    public static let categories = ["customer_request", "payment_problem", "account_access", "billing_question", "other"]

    public init(timeLimitSeconds: Int64 = 30 * 60) {
        self.timeLimitSeconds = timeLimitSeconds
    }
}

/// Starting, finding and ending impersonations. Nothing here signs the customer in: the staff
/// member's own session carries the impersonation, so it never counts as the customer's second
/// factor and never touches their last sign-in; the customer's activity shows it through the
/// audit events written here with both identities.
public struct ImpersonationService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock
    public let policy: ImpersonationPolicy

    init(db: any DatabaseWriter, clock: PortalClock, policy: ImpersonationPolicy) {
        self.db = db
        self.clock = clock
        self.policy = policy
    }

    public func start(staffSession: SessionRecord, customerUserId: String, category: String, reason: String,
                      client: ClientInfo) async throws -> Impersonation {
        let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ImpersonationError.reasonRequired }
        guard ImpersonationPolicy.categories.contains(category) else { throw ImpersonationError.unknownCategory }
        guard staffSession.principal.kind == .staff, staffSession.stage == .complete else { throw ImpersonationError.notSignedIn }
        let now = clock.nowSeconds()
        let expires = now + policy.timeLimitSeconds
        let id = OpaqueID.make("imp")
        return try await db.write { db in
            guard let staff = try UserStore.staff(id: staffSession.principal.id, db), staff.status == .active else {
                throw ImpersonationError.notSignedIn
            }
            guard let customer = try Row.fetchOne(db, sql: "SELECT email, status FROM customer_users WHERE id = ?", arguments: [customerUserId]) else {
                throw ImpersonationError.customerNotFound
            }
            let email: String = customer["email"]
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM staff_users WHERE email = ?", arguments: [email]) != true else {
                throw ImpersonationError.targetIsStaff
            }
            guard (customer["status"] as String) == UserStatus.active.rawValue else { throw ImpersonationError.customerNotActive }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM impersonations WHERE staff_session_hash = ? AND ended_at IS NULL",
                                    arguments: [staffSession.idHash]) != true else { throw ImpersonationError.alreadyImpersonating }
            try db.execute(sql: """
                INSERT INTO impersonations (id, staff_id, staff_session_hash, customer_user_id, reason_category, reason_text, started_at,
                    expires_at, client_address, user_agent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, staff.id, staffSession.idHash, customerUserId, category, String(text.prefix(1_000)), now, expires,
                                 client.address, client.userAgent])
            try AuditService.insert(AuditEvent(
                action: "impersonation.start", actorKind: .staff, actorId: staff.id, actorLabel: staff.email, impersonatorId: staff.id,
                subject: .customer(customerUserId), clientAddress: client.address,
                details: ["impersonation": id, "category": category, "reason": String(text.prefix(1_000)), "customer": email,
                          "ends_at": String(expires)]), now: now, db)
            return Impersonation(id: id, staff: staff, customerUserId: customerUserId, customerEmail: email, reasonCategory: category,
                                 reasonText: text, startedAt: now, expiresAt: expires)
        }
    }

    /// Judged by the service's clock, so tests can move time.
    public func hasExpired(_ impersonation: Impersonation) -> Bool { impersonation.isExpired(now: clock.nowSeconds()) }

    public enum EndReason: String, Sendable { case stopped, expired, signedOut = "signed_out" }

    /// Ends the impersonation carried by this staff session, if any; returns the customer viewed.
    @discardableResult
    public func end(staffSessionHash: String, reason: EndReason, client: ClientInfo) async throws -> String? {
        let now = clock.nowSeconds()
        return try await db.write { db in try Self.end(staffSessionHash: staffSessionHash, reason: reason, client: client, now: now, db) }
    }

    static func end(staffSessionHash: String, reason: EndReason, client: ClientInfo, now: Int64, _ db: Database) throws -> String? {
        guard let live = try Self.live(staffSessionHash: staffSessionHash, db) else { return nil }
        try db.execute(sql: "UPDATE impersonations SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
                       arguments: [now, reason.rawValue, live.id])
        try AuditService.insert(AuditEvent(
            action: reason == .expired ? "impersonation.expire" : "impersonation.stop", actorKind: .staff, actorId: live.staff.id,
            actorLabel: live.staff.email, impersonatorId: live.staff.id, subject: .customer(live.customerUserId), clientAddress: client.address,
            details: ["impersonation": live.id, "customer": live.customerEmail, "end": reason.rawValue,
                      "minutes": String((now - live.startedAt + 59) / 60)]), now: now, db)
        return live.customerUserId
    }

    /// The live impersonation of a staff session, expired or not: the caller ends an expired one.
    static func live(staffSessionHash: String, _ db: Database) throws -> Impersonation? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT i.*, c.email AS customer_email FROM impersonations i JOIN customer_users c ON c.id = i.customer_user_id
            WHERE i.staff_session_hash = ? AND i.ended_at IS NULL
            """), arguments: [staffSessionHash]),
              let staff = try UserStore.staff(id: row["staff_id"], db) else { return nil }
        return Impersonation(id: row["id"], staff: staff, customerUserId: row["customer_user_id"], customerEmail: row["customer_email"],
                             reasonCategory: row["reason_category"], reasonText: row["reason_text"], startedAt: row["started_at"],
                             expiresAt: row["expires_at"])
    }
}
