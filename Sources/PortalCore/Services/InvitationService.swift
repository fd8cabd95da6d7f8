import GRDB

public enum InvitationError: Error, Equatable, Sendable {
    case invalidOrExpired
    case unknownAccount(String)
    case invalidEmail
    case weakPassword(PasswordPolicy.Violation)
    case passwordsDiffer
}

public struct Invitation: Sendable, Equatable {
    public var userId: String
    public var email: String
    /// The link to send, or to print for an operator.
    public var link: String
    public var isNewUser: Bool
}

/// Invites a customer to one or more accounts: a single-use link (72 h) to set a password,
/// after which MFA enrolment is required before anything else. Staff invited from the console
/// (`StaffUserService`) get the same kind of link and are accepted here too.
public struct InvitationService: Sendable {
    let db: any DatabaseWriter
    let tokens: EmailTokenStore
    let outbox: MailOutbox
    let audit: AuditService
    let sessions: SessionService
    let hasher: PasswordHasher
    let links: LinkBuilder
    let clock: PortalClock
    public var lifetime: Int64 = 72 * 3600
    let policy = PasswordPolicy()

    public init(db: any DatabaseWriter, tokens: EmailTokenStore, outbox: MailOutbox, audit: AuditService,
                sessions: SessionService, hasher: PasswordHasher, links: LinkBuilder, clock: PortalClock) {
        self.db = db
        self.tokens = tokens
        self.outbox = outbox
        self.audit = audit
        self.sessions = sessions
        self.hasher = hasher
        self.links = links
        self.clock = clock
    }

    /// Creates the user if new, adds the memberships, issues a fresh link (earlier ones stop working)
    /// and queues the email. `accounts` are account ids or Creatio external ids.
    public func invite(email rawEmail: String, name: String = "", accounts: [String], invitedBy: AuditEvent) async throws -> Invitation {
        let email = normalizeEmail(rawEmail)
        guard Self.isPlausibleEmail(email) else { throw InvitationError.invalidEmail }
        let now = clock.nowSeconds()
        let lifetime = self.lifetime
        let (userId, token, isNew, accountNames) = try await db.write { [tokens] db -> (String, String, Bool, [String]) in
            var accountIds: [String] = []
            var names: [String] = []
            for reference in accounts {
                guard let row = try Row.fetchOne(db, sql: "SELECT id, name FROM accounts WHERE id = ? OR external_id = ?",
                                                 arguments: [reference, reference]) else {
                    throw InvitationError.unknownAccount(reference)
                }
                accountIds.append(row["id"])
                names.append(row["name"])
            }
            var userId = try String.fetchOne(db, sql: "SELECT id FROM customer_users WHERE email = ?", arguments: [email])
            let isNew = userId == nil
            if userId == nil {
                let id = OpaqueID.make("usr")
                try db.execute(sql: """
                    INSERT INTO customer_users (id, email, name, status, created_at, updated_at) VALUES (?, ?, ?, 'invited', ?, ?)
                    """, arguments: [id, email, name, now, now])
                userId = id
            }
            guard let userId else { throw InvitationError.invalidEmail }
            for accountId in accountIds {
                try db.execute(sql: """
                    INSERT INTO account_memberships (user_id, account_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING
                    """, arguments: [userId, accountId, now])
            }
            let token = try tokens.issue(.invite, for: .customer(userId), lifetime: lifetime, db)
            var event = invitedBy
            event.action = "user.invite"
            event.subject = .customer(userId)
            event.details["email"] = email
            event.details["accounts"] = accountIds.joined(separator: ",")
            try AuditService.insert(event, now: now, db)
            return (userId, token, isNew, names)
        }
        let link = try await sendEmail(to: email, token: token, accountNames: accountNames)
        return Invitation(userId: userId, email: email, link: link, isNewUser: isNew)
    }

    /// Queues the invitation email for a token just issued; returns the link it carries.
    func sendEmail(to email: String, token: String, accountNames: [String]) async throws -> String {
        let link = links.absolute(SitePath.invite(token))
        try await outbox.enqueue(template: "invite", to: email, context: [
            "link": link, "accounts": accountNames.joined(separator: ", "), "hours": "\(lifetime / 3600)",
        ])
        return link
    }

    /// The email an invitation link is for, if the link is still good. Staff are invited with the
    /// same tokens, so the page says which kind it serves: a staff link never opens the customer
    /// page, nor the reverse.
    public func lookup(token: String, kind: PrincipalKind = .customer) async throws -> String {
        try await db.read { [tokens] db in
            do {
                let principal = try tokens.peek(.invite, token: token, db)
                guard principal.kind == kind,
                      let email = try String.fetchOne(db, sql: "SELECT email FROM \(kind.userTable) WHERE id = ?", arguments: [principal.id]) else {
                    throw InvitationError.invalidOrExpired
                }
                return email
            } catch EmailTokenError.invalidOrExpired {
                throw InvitationError.invalidOrExpired
            }
        }
    }

    /// Sets the password, activates the user and starts an enrolment session (MFA comes next).
    public func accept(token: String, password: String, confirmation: String, client: ClientInfo,
                       kind: PrincipalKind = .customer) async throws -> (token: String, session: SessionRecord) {
        let email = try await lookup(token: token, kind: kind)
        guard password == confirmation else { throw InvitationError.passwordsDiffer }
        if let violation = policy.check(password, email: email) { throw InvitationError.weakPassword(violation) }
        let hash = try await hasher.hash(password)
        let now = clock.nowSeconds()
        let principal: PrincipalRef = try await db.write { [tokens] db in
            do {
                let principal = try tokens.consume(.invite, token: token, db)
                guard principal.kind == kind else { throw InvitationError.invalidOrExpired }
                try db.execute(sql: """
                    UPDATE \(kind.userTable) SET password_hash = ?, status = 'active', updated_at = ? WHERE id = ? AND status != 'disabled'
                    """, arguments: [hash, now, principal.id])
                guard db.changesCount == 1 else { throw InvitationError.invalidOrExpired }
                try AuditService.insert(AuditEvent(action: kind == .customer ? "user.invite_accepted" : "staff.invite_accepted",
                                                   actorKind: kind == .customer ? .customer : .staff, actorId: principal.id,
                                                   actorLabel: email, subject: principal, clientAddress: client.address), now: now, db)
                return principal
            } catch EmailTokenError.invalidOrExpired {
                throw InvitationError.invalidOrExpired
            }
        }
        try await sessions.revokeAll(of: principal)
        let created = try await sessions.create(for: principal, stage: .enrolment, client: client)
        return (created.token, created.session)
    }

    public static func isPlausibleEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !email.contains(where: { $0.isWhitespace })
            && email.count <= 254
    }
}
