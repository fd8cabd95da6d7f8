import GRDB

/// What can go wrong with a staff console action on a customer. The web layer maps each to a
/// sentence (`ErrorMessages.staffConsole`).
public enum StaffConsoleError: Error, Equatable, Sendable {
    /// The actor is not an active staff member.
    case notPermitted
    case userNotFound
    /// Locking, unlocking and resetting two-step sign-in are recorded with why.
    case reasonRequired
    case alreadyLocked
    case notLocked
    /// There is no authenticator (nor one being set up) to reset.
    case mfaNotSetUp
    /// A new invitation is only for someone who has not accepted one: this user has.
    case alreadyActive
    /// A locked user is unlocked before being invited again.
    case lockedUser
    /// The user belongs to no account, so an invitation would be to nothing.
    case noAccounts
}

/// The staff console's view of customers: find them, see their accounts, and the few changes staff
/// make to a customer's sign-in. Any active staff member (support, finance or admin) may use it;
/// every change is audited with the staff member as actor and the reason given, in the same
/// transaction as the change.
public struct StaffConsoleService: Sendable {
    let db: any DatabaseWriter
    let invitations: InvitationService
    let outbox: MailOutbox
    let sessions: SessionService
    let links: LinkBuilder
    let clock: PortalClock
    /// How many invoices and payments per account the customer view shows.
    public var recentItems = 10
    public var activityLimit = 50

    public init(db: any DatabaseWriter, invitations: InvitationService, outbox: MailOutbox, sessions: SessionService,
                links: LinkBuilder, clock: PortalClock) {
        self.db = db
        self.invitations = invitations
        self.outbox = outbox
        self.sessions = sessions
        self.links = links
        self.clock = clock
    }

    /// Customers whose name or email contains the text, or who belong to an account whose name
    /// contains it or whose CRM id starts with it, or that has an invoice whose number starts with it.
    public func search(_ query: String, limit: Int = 50) async throws -> [CustomerSearchResult] {
        try await db.read { db in try CustomerSearch.run(query, limit: min(max(limit, 0), 200), db) }
    }

    public func customerView(userId: String) async throws -> CustomerView? {
        let (now, idle, recent, activity) = (clock.nowSeconds(), sessions.policy.idleTimeout, recentItems, activityLimit)
        return try await db.read { db in
            try CustomerView.load(userId: userId, recent: recent, activityLimit: activity, now: now, idleTimeout: idle, db)
        }
    }

    /// Disables the user and signs them out everywhere at once.
    @discardableResult
    public func lock(userId: String, reason: String, actor: AuditEvent) async throws -> UserStatus {
        try await setLocked(true, userId: userId, reason: reason, actor: actor)
    }

    /// Lets the user sign in again; someone who never accepted their invitation goes back to invited.
    @discardableResult
    public func unlock(userId: String, reason: String, actor: AuditEvent) async throws -> UserStatus {
        try await setLocked(false, userId: userId, reason: reason, actor: actor)
    }

    private func setLocked(_ locking: Bool, userId: String, reason rawReason: String, actor: AuditEvent) async throws -> UserStatus {
        guard let reason = StaffPermission.reason(rawReason) else { throw StaffConsoleError.reasonRequired }
        let now = clock.nowSeconds()
        return try await db.write { db in
            try Self.requireStaff(actor, db)
            guard let row = try Row.fetchOne(db, sql: "SELECT status, password_hash FROM customer_users WHERE id = ?", arguments: [userId]) else {
                throw StaffConsoleError.userNotFound
            }
            let current = UserStatus(rawValue: row["status"]) ?? .disabled
            let next: UserStatus
            if locking {
                guard current != .disabled else { throw StaffConsoleError.alreadyLocked }
                next = .disabled
            } else {
                guard current == .disabled else { throw StaffConsoleError.notLocked }
                next = (row["password_hash"] as String?) == nil ? .invited : .active
            }
            try db.execute(sql: "UPDATE customer_users SET status = ?, updated_at = ? WHERE id = ?", arguments: [next.rawValue, now, userId])
            var event = actor
            event.action = locking ? "user.lock" : "user.unlock"
            event.subject = .customer(userId)
            event.details["reason"] = reason
            event.details["status"] = next.rawValue
            if locking { event.details["sessions_revoked"] = "\(try SessionService.revokeAll(of: .customer(userId), db))" }
            try AuditService.insert(event, now: now, db)
            return next
        }
    }

    /// Removes the user's authenticator and recovery codes (they set up a new one at their next
    /// sign-in), signs them out everywhere and tells them by email, so a reset they did not ask for
    /// does not go unnoticed.
    public func resetMFA(userId: String, reason rawReason: String, actor: AuditEvent) async throws {
        guard let reason = StaffPermission.reason(rawReason) else { throw StaffConsoleError.reasonRequired }
        let now = clock.nowSeconds()
        let loginURL = links.absolute(SitePath.login)
        try await db.write { [outbox] db in
            try Self.requireStaff(actor, db)
            guard let user = try Row.fetchOne(db, sql: "SELECT * FROM customer_users WHERE id = ?", arguments: [userId]).map(CustomerUser.init(row:)) else {
                throw StaffConsoleError.userNotFound
            }
            let principal = PrincipalRef.customer(userId)
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM mfa_credentials WHERE principal_kind = 'customer' AND principal_id = ?",
                                    arguments: [userId]) == true else { throw StaffConsoleError.mfaNotSetUp }
            try MFAService.reset(principal, db)
            var event = actor
            event.action = "mfa.reset"
            event.subject = principal
            event.details["reason"] = reason
            event.details["sessions_revoked"] = "\(try SessionService.revokeAll(of: principal, db))"
            try AuditService.insert(event, now: now, db)
            try MailOutbox.insert(try outbox.render(template: "mfa_reset_by_staff", to: user.email, context: [
                "name": user.name, "loginURL": loginURL,
            ]), now: now, db)
        }
    }

    /// A fresh invitation link for someone who has not accepted theirs (earlier links stop working),
    /// to the accounts they already belong to.
    @discardableResult
    public func reinvite(userId: String, actor: AuditEvent) async throws -> Invitation {
        let now = clock.nowSeconds()
        let lifetime = invitations.lifetime
        let (email, token, accountNames) = try await db.write { [tokens = invitations.tokens] db -> (String, String, [String]) in
            try Self.requireStaff(actor, db)
            guard let user = try Row.fetchOne(db, sql: "SELECT * FROM customer_users WHERE id = ?", arguments: [userId]).map(CustomerUser.init(row:)) else {
                throw StaffConsoleError.userNotFound
            }
            switch user.status {
            case .invited: break
            case .active: throw StaffConsoleError.alreadyActive
            case .disabled: throw StaffConsoleError.lockedUser
            }
            let accounts = try UserStore.customerWithAccounts(id: userId, db)?.accounts ?? []
            guard !accounts.isEmpty else { throw StaffConsoleError.noAccounts }
            let token = try tokens.issue(.invite, for: .customer(userId), lifetime: lifetime, db)
            var event = actor
            event.action = "user.invite"
            event.subject = .customer(userId)
            event.details["email"] = user.email
            event.details["accounts"] = accounts.map(\.id).joined(separator: ",")
            event.details["resent"] = "true"
            try AuditService.insert(event, now: now, db)
            return (user.email, token, accounts.map(\.name))
        }
        let link = try await invitations.sendEmail(to: email, token: token, accountNames: accountNames)
        return Invitation(userId: userId, email: email, link: link, isNewUser: false)
    }

    private static func requireStaff(_ actor: AuditEvent, _ db: Database) throws {
        guard try StaffPermission.holder(of: actor, allowed: { _ in true }, db) != nil else { throw StaffConsoleError.notPermitted }
    }
}
