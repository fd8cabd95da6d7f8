import GRDB

/// A person the CRM knows at an account. Not a portal user: staff can invite one (the staff console
/// lists an account's contacts who have no sign-in yet).
public struct Contact: Sendable, Equatable {
    public var id: String
    public var externalId: String?
    public var accountId: String?
    public var name: String
    /// Nil when the CRM has none, or one that could not be an address.
    public var email: String?
    public var phone: String?
}

public struct ContactInput: Sendable, Equatable {
    public var externalId: String
    public var accountId: String?
    public var name: String
    public var email: String?
    public var phone: String?

    public init(externalId: String, accountId: String?, name: String, email: String?, phone: String?) {
        self.externalId = externalId
        self.accountId = accountId
        self.name = name
        self.email = email
        self.phone = phone
    }
}

public enum ContactError: Error, Equatable, Sendable {
    case nameEmpty
}

/// The CRM's contacts, kept by their CRM id.
public struct ContactService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock

    public init(db: any DatabaseWriter, clock: PortalClock) {
        self.db = db
        self.clock = clock
    }

    /// Creates or updates contacts in one transaction; returns the error of each one refused, by CRM id.
    public func upsert(_ inputs: [ContactInput]) async throws -> [String: ContactError] {
        let now = clock.nowSeconds()
        return try await db.write { db in
            var refused: [String: ContactError] = [:]
            for input in inputs {
                let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !name.isEmpty else {
                    refused[input.externalId] = .nameEmpty
                    continue
                }
                let email = input.email.map(normalizeEmail).flatMap {
                    InvitationService.isPlausibleEmail($0) ? $0 : nil
                }
                let phone = input.phone.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
                try db.execute(sql: """
                    INSERT INTO contacts (id, external_id, account_id, name, email, phone, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (external_id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name,
                        email = excluded.email, phone = excluded.phone, updated_at = excluded.updated_at
                    """, arguments: [OpaqueID.make("con"), input.externalId, input.accountId, name, email, phone, now, now])
            }
            return refused
        }
    }

    /// Forgets contacts deleted in the CRM; returns how many there were.
    @discardableResult
    public func remove(externalIds: [String]) async throws -> Int {
        guard !externalIds.isEmpty else { return 0 }
        return try await db.write { db in
            var removed = 0
            for id in externalIds {
                try db.execute(sql: "DELETE FROM contacts WHERE external_id = ?", arguments: [id])
                removed += db.changesCount
            }
            return removed
        }
    }

    /// The CRM ids of every contact that came from the CRM.
    public func externalIds() async throws -> Set<String> {
        try await db.read { db in Set(try String.fetchAll(db, sql: "SELECT external_id FROM contacts WHERE external_id IS NOT NULL")) }
    }

    /// An account's contacts who cannot sign in to it yet, by name.
    static func withoutSignIn(accountId: String, _ db: Database) throws -> [Contact] {
        try Row.fetchAll(db, sql: """
            SELECT c.* FROM contacts c WHERE c.account_id = ? AND NOT EXISTS (
                SELECT 1 FROM customer_users u JOIN account_memberships m ON m.user_id = u.id
                WHERE m.account_id = c.account_id AND u.email = c.email)
            ORDER BY c.name, c.id
            """, arguments: [accountId]).map {
            Contact(id: $0["id"], externalId: $0["external_id"], accountId: $0["account_id"], name: $0["name"], email: $0["email"], phone: $0["phone"])
        }
    }
}
