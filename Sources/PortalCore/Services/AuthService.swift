import Foundation
import GRDB

public enum SignInError: Error, Equatable, Sendable {
    /// Wrong email or password, or a user who cannot sign in: one answer for all, so nothing leaks.
    case invalidCredentials
    case invalidCode
    case slowDown(retryAfter: Int64)
    case locked(retryAfter: Int64)
    case sessionExpired
}

/// Where the user goes after the password step.
public enum SignInNext: Sendable, Equatable {
    case secondFactor
    case enrolment
}

public struct SignInResult: Sendable {
    public var token: String
    public var session: SessionRecord
    public var next: SignInNext
}

/// Password then second factor, as a session state machine. Sessions are replaced (new id) at
/// each step; throttling and the audit trail see every failure.
public struct AuthService: Sendable {
    let users: UserStore
    let sessions: SessionService
    let mfa: MFAService
    let throttle: ThrottleService
    let audit: AuditService
    let hasher: PasswordHasher
    let clock: PortalClock
    /// Verified against when the email is unknown, so both paths take the same time.
    let decoyHash: String

    public init(users: UserStore, sessions: SessionService, mfa: MFAService, throttle: ThrottleService,
                audit: AuditService, hasher: PasswordHasher, clock: PortalClock) async throws {
        self.users = users
        self.sessions = sessions
        self.mfa = mfa
        self.throttle = throttle
        self.audit = audit
        self.hasher = hasher
        self.clock = clock
        self.decoyHash = try await hasher.hash(SecretToken.generate())
    }

    /// Step one. `previous` is any session the browser already had; it is ended, never upgraded.
    public func signIn(kind: PrincipalKind, email rawEmail: String, password: String, client: ClientInfo,
                       previous: SessionRecord? = nil) async throws -> SignInResult {
        let email = normalizeEmail(rawEmail)
        try await checkThrottle(email: email, client: client)
        let user = try await users.credential(email: email, kind: kind)
        var matched = false
        if let user, user.status == .active, let hash = user.passwordHash {
            matched = try await hasher.verify(password, against: hash)
        } else {
            _ = try await hasher.verify(password, against: decoyHash)
        }
        guard let user, matched else {
            try await throttle.recordFailure(email: email, address: client.address)
            try await audit.record(AuditEvent(
                action: "sign_in.password", actorKind: .anonymous, actorLabel: email, subject: user?.principal,
                clientAddress: client.address, outcome: .failure, details: ["reason": "invalid_credentials", "kind": kind.rawValue]))
            throw SignInError.invalidCredentials
        }
        if let hash = user.passwordHash, hasher.needsRehash(hash) {
            try await users.setPasswordHash(user.principal, hash: try await hasher.hash(password), now: clock.nowSeconds())
        }
        if let previous { try await sessions.destroy(previous) }
        let enrolled = try await mfa.status(user.principal).enrolled
        let stage: SessionStage = enrolled ? .password : .enrolment
        let (token, session) = try await sessions.create(for: user.principal, stage: stage, client: client)
        try await audit.record(.by(user, "sign_in.password", client: client))
        return SignInResult(token: token, session: session, next: enrolled ? .secondFactor : .enrolment)
    }

    /// Step two: a TOTP or recovery code turns a `password` session into a signed-in one, under a new id.
    public func verifySecondFactor(session: SessionRecord, code: String, client: ClientInfo) async throws -> (token: String, session: SessionRecord) {
        guard session.stage == .password, let user = try await users.credential(session.principal), user.status == .active else {
            throw SignInError.sessionExpired
        }
        do {
            try await checkThrottle(email: user.email, client: client)
        } catch SignInError.locked(let retryAfter) {
            try await sessions.destroy(session)
            throw SignInError.locked(retryAfter: retryAfter)
        }
        let method: SecondFactorMethod
        do {
            method = try await mfa.verify(user.principal, code: code)
        } catch MFAError.invalidCode {
            try await throttle.recordFailure(email: user.email, address: client.address)
            try await audit.record(.by(user, "sign_in.mfa", client: client, outcome: .failure, details: ["reason": "invalid_code"]))
            // The failure that locks the account ends the pending sign-in and says so.
            if case .locked(let retryAfter) = try await throttle.verdict(email: user.email, address: client.address) {
                try await sessions.destroy(session)
                throw SignInError.locked(retryAfter: retryAfter)
            }
            throw SignInError.invalidCode
        }
        let rotated = try await sessions.rotate(session, to: .complete, client: client)
        try await users.recordSignIn(user.principal, now: clock.nowSeconds())
        try await throttle.clear(email: user.email)
        try await audit.record(.by(user, "sign_in.success", client: client, details: ["method": method.rawValue]))
        return rotated
    }

    /// Enrolment confirmed with a code: the session becomes signed-in under a new id; returns recovery codes.
    public func completeEnrolment(session: SessionRecord, code: String, client: ClientInfo) async throws -> (token: String, session: SessionRecord, recoveryCodes: [String]) {
        guard session.stage == .enrolment, let user = try await users.credential(session.principal), user.status == .active else {
            throw SignInError.sessionExpired
        }
        try await checkThrottle(email: user.email, client: client)
        let codes: [String]
        do {
            codes = try await mfa.confirmEnrolment(for: user.principal, code: code)
        } catch MFAError.invalidCode {
            try await throttle.recordFailure(email: user.email, address: client.address)
            throw SignInError.invalidCode
        }
        let rotated = try await sessions.rotate(session, to: .complete, client: client)
        try await users.recordSignIn(user.principal, now: clock.nowSeconds())
        try await throttle.clear(email: user.email)
        try await audit.record(.by(user, "mfa.enrolled", client: client))
        try await audit.record(.by(user, "sign_in.success", client: client, details: ["method": "enrolment"]))
        return (rotated.token, rotated.session, codes)
    }

    public func signOut(session: SessionRecord, client: ClientInfo) async throws {
        try await sessions.destroy(session)
        if let user = try await users.credential(session.principal) {
            try await audit.record(.by(user, "sign_out", client: client))
        }
    }

    private func checkThrottle(email: String, client: ClientInfo) async throws {
        switch try await throttle.verdict(email: email, address: client.address) {
        case .allowed: return
        case .slowDown(let retryAfter): throw SignInError.slowDown(retryAfter: retryAfter)
        case .locked(let retryAfter): throw SignInError.locked(retryAfter: retryAfter)
        }
    }
}
