import GRDB

/// Server-side sessions. The browser holds a 256-bit random token; the table holds its SHA-256.
public struct SessionService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock
    public let policy: SessionPolicy
    /// Every request reads its session: that read runs on the request's own thread when it can.
    let inline: InlineReader?

    public init(db: any DatabaseWriter, clock: PortalClock, policy: SessionPolicy = SessionPolicy(), inline: InlineReader? = nil) {
        self.db = db
        self.clock = clock
        self.policy = policy
        self.inline = inline
    }

    /// Starts a session and returns the cookie value, shown to nobody else.
    public func create(for principal: PrincipalRef, stage: SessionStage, client: ClientInfo, startedAt: Int64? = nil) async throws -> (token: String, session: SessionRecord) {
        let token = SecretToken.generate()
        let now = clock.nowSeconds()
        let created = startedAt ?? now
        let limit = stage == .complete ? created + policy.absoluteTimeout : policy.limit(for: stage, from: now)
        let record = SessionRecord(
            idHash: SecretToken.hash(token), publicId: OpaqueID.make("ses"), principal: principal, stage: stage,
            createdAt: created, lastSeenAt: now, expiresAt: limit,
            clientAddress: client.address, userAgent: client.userAgent, activeAccountId: nil)
        try await db.write { db in try Self.insert(record, db) }
        return (token, record)
    }

    /// The live session for a cookie value, or nil when unknown, idle too long or past its limit.
    public func find(token: String) async throws -> SessionRecord? {
        try await lookup(token: token)?.session
    }

    /// A signed-in customer's session comes with the customer and their accounts, read in the same
    /// transaction: every customer page needs all three, and one read is one trip to a reader.
    public struct Lookup: Sendable {
        public var session: SessionRecord
        public var customer: (user: CustomerUser, accounts: [Account])?
        /// For a staff session: the staff member, and whom they are viewing as, if anyone.
        public var staff: StaffUser?
        public var impersonation: Impersonation?
        public var impersonated: (user: CustomerUser, accounts: [Account])?
    }

    public func lookup(token: String) async throws -> Lookup? {
        let hash = SecretToken.hash(token)
        let now = clock.nowSeconds()
        let idle = policy.idleTimeout
        let found: Lookup?? = try await (inline?.read ?? db.read) { db in
            guard let record = try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(SessionRecord.columns) FROM sessions WHERE id_hash = ?"),
                                                    arguments: [hash])
                .map(SessionRecord.init(row:)) else { return .some(nil) }
            if record.expiresAt <= now || record.lastSeenAt + idle <= now { return nil }  // expired: delete below
            guard record.stage == .complete else { return Lookup(session: record, customer: nil) }
            if record.principal.kind == .staff {
                // Staff sessions carry any impersonation; reading it here keeps one reader hop per request.
                let impersonation = try ImpersonationService.live(staffSessionHash: record.idHash, db)
                return Lookup(session: record, customer: nil, staff: try UserStore.staff(id: record.principal.id, db), impersonation: impersonation,
                              impersonated: try impersonation.flatMap { try UserStore.customerWithAccounts(id: $0.customerUserId, db) })
            }
            return Lookup(session: record, customer: try UserStore.customerWithAccounts(id: record.principal.id, db))
        }
        guard let found else {
            try await db.write { db in try db.execute(sql: "DELETE FROM sessions WHERE id_hash = ?", arguments: [hash]) }
            return nil
        }
        return found
    }

    /// Records activity, at most once a minute per session to spare the writer.
    public func touch(_ record: SessionRecord) async throws {
        let now = clock.nowSeconds()
        guard now - record.lastSeenAt >= 60 else { return }
        try await db.write { db in
            try db.execute(sql: "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", arguments: [now, record.idHash])
        }
    }

    /// Replaces a session by a new id at a privilege step, so a token captured before the step is useless after it.
    public func rotate(_ record: SessionRecord, to stage: SessionStage, client: ClientInfo) async throws -> (token: String, session: SessionRecord) {
        let token = SecretToken.generate()
        let now = clock.nowSeconds()
        var next = record
        next.idHash = SecretToken.hash(token)
        next.publicId = OpaqueID.make("ses")
        next.stage = stage
        next.lastSeenAt = now
        next.clientAddress = client.address
        next.userAgent = client.userAgent
        // The 12-hour limit runs from the completed sign-in.
        if stage == .complete { next.createdAt = now }
        next.expiresAt = policy.limit(for: stage, from: now)
        let replacement = next
        try await db.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE id_hash = ?", arguments: [record.idHash])
            try Self.insert(replacement, db)
        }
        return (token, replacement)
    }

    public func destroy(_ record: SessionRecord) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM sessions WHERE id_hash = ?", arguments: [record.idHash]) }
    }

    public func setActiveAccount(_ record: SessionRecord, accountId: String?) async throws {
        try await db.write { db in
            try db.execute(sql: "UPDATE sessions SET active_account_id = ? WHERE id_hash = ?", arguments: [accountId, record.idHash])
        }
    }

    /// Completed sessions of one principal, newest first.
    public func list(for principal: PrincipalRef) async throws -> [SessionRecord] {
        let now = clock.nowSeconds()
        let idle = policy.idleTimeout
        return try await db.read { db in
            try Row.fetchAll(try db.cachedStatement(sql: """
                SELECT \(SessionRecord.columns) FROM sessions WHERE principal_kind = ? AND principal_id = ? AND stage = 'complete'
                AND expires_at > ? AND last_seen_at > ? ORDER BY last_seen_at DESC
                """), arguments: [principal.kind.rawValue, principal.id, now, now - idle]).map(SessionRecord.init(row:))
        }
    }

    /// Revokes one of the principal's own sessions; a public id belonging to someone else matches nothing.
    @discardableResult
    public func revoke(publicId: String, of principal: PrincipalRef) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE public_id = ? AND principal_kind = ? AND principal_id = ?",
                           arguments: [publicId, principal.kind.rawValue, principal.id])
            return db.changesCount > 0
        }
    }

    /// Signs the principal out everywhere, optionally keeping the current session.
    @discardableResult
    public func revokeAll(of principal: PrincipalRef, except keep: String? = nil) async throws -> Int {
        try await db.write { db in try Self.revokeAll(of: principal, except: keep, db) }
    }

    /// For services that sign someone out in the same transaction as the change that demands it
    /// (a lock, an MFA reset), so no request slips in between with the old session.
    @discardableResult
    static func revokeAll(of principal: PrincipalRef, except keep: String? = nil, _ db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM sessions WHERE principal_kind = ? AND principal_id = ? AND id_hash IS NOT ?",
                       arguments: [principal.kind.rawValue, principal.id, keep])
        return db.changesCount
    }

    @discardableResult
    public func purgeExpired() async throws -> Int {
        let now = clock.nowSeconds()
        let idle = policy.idleTimeout
        return try await db.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", arguments: [now, now - idle])
            return db.changesCount
        }
    }

    private static func insert(_ r: SessionRecord, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO sessions (id_hash, public_id, principal_kind, principal_id, stage, created_at, last_seen_at,
                                  expires_at, client_address, user_agent, active_account_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [r.idHash, r.publicId, r.principal.kind.rawValue, r.principal.id, r.stage.rawValue,
                             r.createdAt, r.lastSeenAt, r.expiresAt, r.clientAddress, r.userAgent, r.activeAccountId])
    }
}
