import Foundation
import GRDB

/// What can go wrong managing staff users. The web layer maps each to a sentence
/// (`ErrorMessages.staffUser`).
public enum StaffUserError: Error, Equatable, Sendable {
    /// Only an active admin manages staff users.
    case notPermitted
    case notFound
    case invalidEmail
    case emailTaken(String)
    /// The member already has that role.
    case sameRole
    case alreadyDisabled
    case notDisabled
    /// Another admin must do it, so nobody locks themselves out by mistake.
    case cannotDisableSelf
    /// The change would leave no active admin, and only an admin can make more.
    case lastAdmin
    /// Only a member who has not accepted an invitation yet can be sent a new one.
    case notInvited
}

/// A staff member as the staff-users page lists them.
public struct StaffMember: Sendable, Equatable {
    public var user: StaffUser
    public var createdAt: Int64
    public var lastSignInAt: Int64?
    public var mfaEnrolled: Bool
    /// When the outstanding invitation link stops working, while there is one.
    public var invitationExpiresAt: Int64?
}

/// A staff member just invited, and the link they were sent (shown to the admin in case the email
/// does not arrive).
public struct StaffInvitation: Sendable, Equatable {
    public var staff: StaffUser
    public var link: String
}

/// Staff users, managed by admins (the first admin comes from `portal staff create`). New members
/// are invited like customers: a single-use link, valid 72 hours, to set a password, accepted by
/// `InvitationService.accept(kind: .staff)`; two-step sign-in is set up at their first sign-in.
/// Every change is audited with the admin as actor.
public struct StaffUserService: Sendable {
    let db: any DatabaseWriter
    let invitations: InvitationService
    let outbox: MailOutbox
    let links: LinkBuilder
    let clock: PortalClock

    public init(db: any DatabaseWriter, invitations: InvitationService, outbox: MailOutbox, links: LinkBuilder, clock: PortalClock) {
        self.db = db
        self.invitations = invitations
        self.outbox = outbox
        self.links = links
        self.clock = clock
    }

    /// Active members first, then invited, then disabled; by name within each.
    public func list() async throws -> [StaffMember] {
        let now = clock.nowSeconds()
        return try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.*, m.confirmed_at IS NOT NULL AS mfa_enrolled,
                       (SELECT max(t.expires_at) FROM email_tokens t WHERE t.principal_kind = 'staff' AND t.principal_id = s.id
                        AND t.purpose = 'invite' AND t.used_at IS NULL AND t.expires_at > ?) AS invitation_expires_at
                FROM staff_users s LEFT JOIN mfa_credentials m ON m.principal_kind = 'staff' AND m.principal_id = s.id
                ORDER BY CASE s.status WHEN 'active' THEN 0 WHEN 'invited' THEN 1 ELSE 2 END, s.name, s.email
                """, arguments: [now]).map { row in
                StaffMember(user: StaffUser(row: row), createdAt: row["created_at"], lastSignInAt: row["last_sign_in_at"],
                            mfaEnrolled: (row["mfa_enrolled"] as Bool?) ?? false, invitationExpiresAt: row["invitation_expires_at"])
            }
        }
    }

    /// Creates an invited member and emails them a link to set their password.
    public func create(email rawEmail: String, name: String, role: StaffRole, actor: AuditEvent) async throws -> StaffInvitation {
        let email = normalizeEmail(rawEmail)
        guard InvitationService.isPlausibleEmail(email) else { throw StaffUserError.invalidEmail }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let now = clock.nowSeconds()
        let lifetime = invitations.lifetime
        let (staff, token) = try await db.write { [tokens = invitations.tokens] db -> (StaffUser, String) in
            try Self.requireAdmin(actor, db)
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM staff_users WHERE email = ?", arguments: [email]) == true {
                throw StaffUserError.emailTaken(email)
            }
            let staff = StaffUser(id: OpaqueID.make("stf"), email: email, name: name, role: role, status: .invited)
            try db.execute(sql: """
                INSERT INTO staff_users (id, email, name, role, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'invited', ?, ?)
                """, arguments: [staff.id, email, name, role.rawValue, now, now])
            let token = try tokens.issue(.invite, for: .staff(staff.id), lifetime: lifetime, db)
            try Self.audit(actor, "staff.create", staff, details: ["email": email, "role": role.rawValue], now: now, db)
            return (staff, token)
        }
        return StaffInvitation(staff: staff, link: try await sendInvitation(to: staff, token: token))
    }

    /// A fresh link for a member who has not accepted theirs; earlier links stop working.
    public func resendInvitation(staffId: String, actor: AuditEvent) async throws -> StaffInvitation {
        let now = clock.nowSeconds()
        let lifetime = invitations.lifetime
        let (staff, token) = try await db.write { [tokens = invitations.tokens] db -> (StaffUser, String) in
            try Self.requireAdmin(actor, db)
            let staff = try Self.member(staffId, db)
            guard staff.status == .invited else { throw StaffUserError.notInvited }
            let token = try tokens.issue(.invite, for: .staff(staff.id), lifetime: lifetime, db)
            try Self.audit(actor, "staff.invite", staff, details: ["email": staff.email, "resent": "true"], now: now, db)
            return (staff, token)
        }
        return StaffInvitation(staff: staff, link: try await sendInvitation(to: staff, token: token))
    }

    @discardableResult
    public func changeRole(staffId: String, role: StaffRole, actor: AuditEvent) async throws -> StaffUser {
        try await change(staffId, actor: actor) { staff, now, db in
            guard staff.role != role else { throw StaffUserError.sameRole }
            if role != .admin { try Self.requireAnotherAdmin(besides: staff, db) }
            try db.execute(sql: "UPDATE staff_users SET role = ?, updated_at = ? WHERE id = ?", arguments: [role.rawValue, now, staff.id])
            try Self.audit(actor, "staff.role", staff, details: ["from": staff.role.rawValue, "to": role.rawValue], now: now, db)
            staff.role = role
        }
    }

    /// Stops the member signing in and ends their sessions at once.
    @discardableResult
    public func disable(staffId: String, actor: AuditEvent) async throws -> StaffUser {
        try await change(staffId, actor: actor) { staff, now, db in
            guard staff.id != actor.actorId else { throw StaffUserError.cannotDisableSelf }
            guard staff.status != .disabled else { throw StaffUserError.alreadyDisabled }
            try Self.requireAnotherAdmin(besides: staff, db)
            try db.execute(sql: "UPDATE staff_users SET status = 'disabled', updated_at = ? WHERE id = ?", arguments: [now, staff.id])
            let revoked = try SessionService.revokeAll(of: .staff(staff.id), db)
            try Self.audit(actor, "staff.disable", staff, details: ["sessions_revoked": "\(revoked)"], now: now, db)
            staff.status = .disabled
        }
    }

    /// Lets a disabled member sign in again; one who never set a password goes back to invited.
    @discardableResult
    public func enable(staffId: String, actor: AuditEvent) async throws -> StaffUser {
        try await change(staffId, actor: actor) { staff, now, db in
            guard staff.status == .disabled else { throw StaffUserError.notDisabled }
            let hasPassword = try Bool.fetchOne(db, sql: "SELECT password_hash IS NOT NULL FROM staff_users WHERE id = ?",
                                                arguments: [staff.id]) ?? false
            staff.status = hasPassword ? .active : .invited
            try db.execute(sql: "UPDATE staff_users SET status = ?, updated_at = ? WHERE id = ?",
                           arguments: [staff.status.rawValue, now, staff.id])
            try Self.audit(actor, "staff.enable", staff, details: ["status": staff.status.rawValue], now: now, db)
        }
    }

    /// One admin action on one member, in one transaction: the admin is checked, the member read,
    /// and `body` refuses or makes the change and audits it.
    private func change(_ staffId: String, actor: AuditEvent,
                        _ body: @escaping @Sendable (inout StaffUser, Int64, Database) throws -> Void) async throws -> StaffUser {
        let now = clock.nowSeconds()
        return try await db.write { db in
            try Self.requireAdmin(actor, db)
            var staff = try Self.member(staffId, db)
            try body(&staff, now, db)
            return staff
        }
    }

    private func sendInvitation(to staff: StaffUser, token: String) async throws -> String {
        let link = links.absolute(SitePath.staffInvite(token))
        try await outbox.enqueue(template: "staff_invite", to: staff.email, context: [
            "name": staff.name, "role": staff.role.rawValue, "link": link, "hours": "\(invitations.lifetime / 3600)",
        ])
        return link
    }

    private static func requireAdmin(_ actor: AuditEvent, _ db: Database) throws {
        guard try StaffPermission.holder(of: actor, allowed: { $0 == .admin }, db) != nil else { throw StaffUserError.notPermitted }
    }

    private static func member(_ id: String, _ db: Database) throws -> StaffUser {
        guard let staff = try Row.fetchOne(db, sql: "SELECT * FROM staff_users WHERE id = ?", arguments: [id]).map(StaffUser.init(row:)) else {
            throw StaffUserError.notFound
        }
        return staff
    }

    /// Checked inside the write transaction, so two admins demoting each other at once cannot both succeed.
    private static func requireAnotherAdmin(besides staff: StaffUser, _ db: Database) throws {
        guard staff.role == .admin, staff.status == .active else { return }
        let others = try Int.fetchOne(db, sql: "SELECT count(*) FROM staff_users WHERE role = 'admin' AND status = 'active' AND id != ?",
                                      arguments: [staff.id]) ?? 0
        guard others > 0 else { throw StaffUserError.lastAdmin }
    }

    private static func audit(_ actor: AuditEvent, _ action: String, _ staff: StaffUser, details: [String: String], now: Int64,
                              _ db: Database) throws {
        var event = actor
        event.action = action
        event.subject = .staff(staff.id)
        event.details.merge(details) { _, new in new }
        try AuditService.insert(event, now: now, db)
    }
}
