import GRDB

public enum AccountSecurityError: Error, Equatable, Sendable {
    case wrongPassword
    case weakPassword(PasswordPolicy.Violation)
    case passwordsDiffer
    case invalidCode
    case notEnrolled
    case sessionNotFound
}

/// What a signed-in user does to their own credentials on `/account`. Every change is audited
/// and announced by email, so a hijacked session cannot quietly take an account over.
public struct AccountSecurityService: Sendable {
    let users: UserStore
    let sessions: SessionService
    let mfa: MFAService
    let audit: AuditService
    let hasher: PasswordHasher
    let outbox: MailOutbox
    let links: LinkBuilder
    let clock: PortalClock
    let policy = PasswordPolicy()

    public init(users: UserStore, sessions: SessionService, mfa: MFAService, audit: AuditService,
                hasher: PasswordHasher, outbox: MailOutbox, links: LinkBuilder, clock: PortalClock) {
        self.users = users
        self.sessions = sessions
        self.mfa = mfa
        self.audit = audit
        self.hasher = hasher
        self.outbox = outbox
        self.links = links
        self.clock = clock
    }

    /// Changes the password and signs out every other session.
    public func changePassword(session: SessionRecord, current: String, new: String, confirmation: String, client: ClientInfo) async throws {
        let user = try await requireUser(session)
        guard let hash = user.passwordHash, try await hasher.verify(current, against: hash) else {
            try await audit.record(.by(user, "password.change", client: client, outcome: .failure, details: ["reason": "wrong_password"]))
            throw AccountSecurityError.wrongPassword
        }
        guard new == confirmation else { throw AccountSecurityError.passwordsDiffer }
        if let violation = policy.check(new, email: user.email) { throw AccountSecurityError.weakPassword(violation) }
        try await users.setPasswordHash(user.principal, hash: try await hasher.hash(new), now: clock.nowSeconds())
        let revoked = try await sessions.revokeAll(of: user.principal, except: session.idHash)
        try await audit.record(.by(user, "password.change", client: client, details: ["other_sessions_revoked": "\(revoked)"]))
        try await outbox.enqueue(template: "password_changed", to: user.email, context: [
            "name": user.name, "forgotURL": links.absolute(SitePath.passwordForgot), "client": client.address,
        ])
    }

    /// New recovery codes, replacing the old ones; needs the current password.
    public func regenerateRecoveryCodes(session: SessionRecord, password: String, client: ClientInfo) async throws -> [String] {
        let user = try await requireUser(session)
        guard let hash = user.passwordHash, try await hasher.verify(password, against: hash) else {
            try await audit.record(.by(user, "mfa.recovery_codes", client: client, outcome: .failure, details: ["reason": "wrong_password"]))
            throw AccountSecurityError.wrongPassword
        }
        do {
            let codes = try await mfa.regenerateRecoveryCodes(for: user.principal)
            try await audit.record(.by(user, "mfa.recovery_codes", client: client))
            return codes
        } catch MFAError.notEnrolled {
            throw AccountSecurityError.notEnrolled
        }
    }

    /// Removes the authenticator after proving both factors; the session drops back to enrolment
    /// (under a new id), so the user must enrol a new one before going anywhere else.
    public func resetMFA(session: SessionRecord, password: String, code: String, client: ClientInfo) async throws -> (token: String, session: SessionRecord) {
        let user = try await requireUser(session)
        guard let hash = user.passwordHash, try await hasher.verify(password, against: hash) else {
            try await audit.record(.by(user, "mfa.reset", client: client, outcome: .failure, details: ["reason": "wrong_password"]))
            throw AccountSecurityError.wrongPassword
        }
        do {
            _ = try await mfa.verify(user.principal, code: code)
        } catch MFAError.invalidCode {
            try await audit.record(.by(user, "mfa.reset", client: client, outcome: .failure, details: ["reason": "invalid_code"]))
            throw AccountSecurityError.invalidCode
        }
        try await mfa.reset(user.principal)
        try await sessions.revokeAll(of: user.principal, except: session.idHash)
        let rotated = try await sessions.rotate(session, to: .enrolment, client: client)
        try await audit.record(.by(user, "mfa.reset", client: client))
        try await outbox.enqueue(template: "mfa_reset", to: user.email, context: [
            "name": user.name, "forgotURL": links.absolute(SitePath.passwordForgot), "client": client.address,
        ])
        return rotated
    }

    public func sessions(of session: SessionRecord) async throws -> [SessionRecord] {
        try await sessions.list(for: session.principal)
    }

    public func revokeSession(publicId: String, current: SessionRecord, client: ClientInfo) async throws {
        let user = try await requireUser(current)
        guard try await sessions.revoke(publicId: publicId, of: user.principal) else { throw AccountSecurityError.sessionNotFound }
        try await audit.record(.by(user, "session.revoke", client: client, details: ["session": publicId]))
    }

    public func revokeOtherSessions(current: SessionRecord, client: ClientInfo) async throws -> Int {
        let user = try await requireUser(current)
        let count = try await sessions.revokeAll(of: user.principal, except: current.idHash)
        try await audit.record(.by(user, "session.revoke_others", client: client, details: ["count": "\(count)"]))
        return count
    }

    private func requireUser(_ session: SessionRecord) async throws -> UserCredential {
        guard let user = try await users.credential(session.principal), user.status == .active else {
            throw SignInError.sessionExpired
        }
        return user
    }
}
