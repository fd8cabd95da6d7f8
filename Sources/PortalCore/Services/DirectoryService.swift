import GRDB

public enum DirectoryError: Error, Equatable, Sendable {
    case emailTaken(String)
    case invalidEmail
    case weakPassword(PasswordPolicy.Violation)
    case unknownAccount
}

/// Operator-level changes to accounts and staff (CLI now, the staff console later).
public struct DirectoryService: Sendable {
    let db: any DatabaseWriter
    let hasher: PasswordHasher
    let clock: PortalClock
    let policy = PasswordPolicy()

    public init(db: any DatabaseWriter, hasher: PasswordHasher, clock: PortalClock) {
        self.db = db
        self.hasher = hasher
        self.clock = clock
    }

    /// Creates or renames an account, keyed by its CRM id when it has one.
    @discardableResult
    public func upsertAccount(name: String, externalId: String? = nil, id: String? = nil) async throws -> Account {
        let now = clock.nowSeconds()
        return try await db.write { db in
            if let externalId, let row = try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE external_id = ?", arguments: [externalId]) {
                try db.execute(sql: "UPDATE accounts SET name = ?, updated_at = ? WHERE id = ?", arguments: [name, now, row["id"] as String])
                return Account(id: row["id"], externalId: externalId, name: name, status: row["status"])
            }
            let account = Account(id: id ?? OpaqueID.make("acc"), externalId: externalId, name: name, status: "active")
            try db.execute(sql: "INSERT INTO accounts (id, external_id, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?)",
                           arguments: [account.id, externalId, name, now, now])
            return account
        }
    }


    /// Creates an active staff member with a password; MFA enrolment is forced at their first sign-in.
    public func createStaff(email rawEmail: String, name: String, role: StaffRole, password: String, actor: AuditEvent) async throws -> StaffUser {
        let email = normalizeEmail(rawEmail)
        guard InvitationService.isPlausibleEmail(email) else { throw DirectoryError.invalidEmail }
        if let violation = policy.check(password, email: email) { throw DirectoryError.weakPassword(violation) }
        let hash = try await hasher.hash(password)
        let now = clock.nowSeconds()
        return try await db.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM staff_users WHERE email = ?", arguments: [email]) == true {
                throw DirectoryError.emailTaken(email)
            }
            let staff = StaffUser(id: OpaqueID.make("stf"), email: email, name: name, role: role, status: .active)
            try db.execute(sql: """
                INSERT INTO staff_users (id, email, name, role, password_hash, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
                """, arguments: [staff.id, email, name, role.rawValue, hash, now, now])
            var event = actor
            event.action = "staff.create"
            event.subject = .staff(staff.id)
            event.details["role"] = role.rawValue
            event.details["email"] = email
            try AuditService.insert(event, now: now, db)
            return staff
        }
    }

    /// Directly activates a customer with a password: `portal demo` only, where logins are fixed.
    public func activateCustomerForDemo(email: String, password: String) async throws -> String {
        let hash = try await hasher.hash(password)
        let now = clock.nowSeconds()
        return try await db.write { db in
            guard let id = try String.fetchOne(db, sql: "SELECT id FROM customer_users WHERE email = ?", arguments: [normalizeEmail(email)]) else {
                throw DirectoryError.invalidEmail
            }
            try db.execute(sql: "UPDATE customer_users SET password_hash = ?, status = 'active', updated_at = ? WHERE id = ?",
                           arguments: [hash, now, id])
            try db.execute(sql: "UPDATE email_tokens SET used_at = ? WHERE principal_kind = 'customer' AND principal_id = ? AND used_at IS NULL",
                           arguments: [now, id])
            return id
        }
    }
}
