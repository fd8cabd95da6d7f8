import GRDB

public enum PasswordResetError: Error, Equatable, Sendable {
    case invalidOrExpired
    case weakPassword(PasswordPolicy.Violation)
    case passwordsDiffer
}

/// "Forgot password": the same answer whether or not the email exists; a single-use link for an
/// hour; completing it signs out every session, clears a lockout, and leaves MFA required.
public struct PasswordResetService: Sendable {
    let db: any DatabaseWriter
    let tokens: EmailTokenStore
    let outbox: MailOutbox
    let throttle: ThrottleService
    let hasher: PasswordHasher
    let links: LinkBuilder
    let clock: PortalClock
    public var lifetime: Int64 = 3600
    /// At most one reset email per user in this many seconds, so the form cannot mail-bomb someone.
    public var resendInterval: Int64 = 60
    let policy = PasswordPolicy()

    public init(db: any DatabaseWriter, tokens: EmailTokenStore, outbox: MailOutbox, throttle: ThrottleService,
                hasher: PasswordHasher, links: LinkBuilder, clock: PortalClock) {
        self.db = db
        self.tokens = tokens
        self.outbox = outbox
        self.throttle = throttle
        self.hasher = hasher
        self.links = links
        self.clock = clock
    }

    /// Queues a reset email if the email belongs to an active customer. Says nothing either way.
    public func request(email rawEmail: String, kind: PrincipalKind = .customer, client: ClientInfo) async throws {
        let email = normalizeEmail(rawEmail)
        let now = clock.nowSeconds()
        let lifetime = self.lifetime
        let resendInterval = self.resendInterval
        let token: String? = try await db.write { [tokens] db in
            guard let id = try String.fetchOne(db, sql: "SELECT id FROM \(kind.userTable) WHERE email = ? AND status = 'active'",
                                               arguments: [email]) else { return nil }
            let principal = PrincipalRef(kind: kind, id: id)
            if let last = try tokens.lastIssued(.reset, for: principal, db), last + resendInterval > now { return nil }
            let token = try tokens.issue(.reset, for: principal, lifetime: lifetime, db)
            try AuditService.insert(AuditEvent(action: "password.reset_requested", actorKind: .anonymous, actorLabel: email,
                                               subject: principal, clientAddress: client.address), now: now, db)
            return token
        }
        guard let token else { return }
        try await outbox.enqueue(template: "password_reset", to: email, context: [
            "link": links.absolute(SitePath.passwordReset(token)), "minutes": "\(lifetime / 60)", "client": client.address,
        ])
    }

    public func lookup(token: String) async throws -> String {
        try await db.read { [tokens] db in
            do {
                let principal = try tokens.peek(.reset, token: token, db)
                guard let email = try String.fetchOne(db, sql: "SELECT email FROM \(principal.kind.userTable) WHERE id = ?",
                                                      arguments: [principal.id]) else { throw PasswordResetError.invalidOrExpired }
                return email
            } catch EmailTokenError.invalidOrExpired {
                throw PasswordResetError.invalidOrExpired
            }
        }
    }

    public func complete(token: String, password: String, confirmation: String, client: ClientInfo) async throws {
        let email = try await lookup(token: token)
        guard password == confirmation else { throw PasswordResetError.passwordsDiffer }
        if let violation = policy.check(password, email: email) { throw PasswordResetError.weakPassword(violation) }
        let hash = try await hasher.hash(password)
        let now = clock.nowSeconds()
        try await db.write { [tokens] db in
            do {
                let principal = try tokens.consume(.reset, token: token, db)
                try db.execute(sql: "UPDATE \(principal.kind.userTable) SET password_hash = ?, updated_at = ? WHERE id = ? AND status = 'active'",
                               arguments: [hash, now, principal.id])
                guard db.changesCount == 1 else { throw PasswordResetError.invalidOrExpired }
                try db.execute(sql: "DELETE FROM sessions WHERE principal_kind = ? AND principal_id = ?",
                               arguments: [principal.kind.rawValue, principal.id])
                try AuditService.insert(AuditEvent(action: "password.reset", actorKind: principal.kind == .customer ? .customer : .staff,
                                                   actorId: principal.id, actorLabel: email, subject: principal,
                                                   clientAddress: client.address, details: ["sessions_revoked": "all"]), now: now, db)
            } catch EmailTokenError.invalidOrExpired {
                throw PasswordResetError.invalidOrExpired
            }
        }
        try await throttle.clear(email: email)
        try await outbox.enqueue(template: "password_changed", to: email, context: [
            "forgotURL": links.absolute(SitePath.passwordForgot), "client": client.address,
        ])
    }
}
