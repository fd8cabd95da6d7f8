import GRDB

/// Reads and writes the user tables for both kinds of principal.
public struct UserStore: Sendable {
    let db: any DatabaseWriter

    public init(db: any DatabaseWriter) { self.db = db }

    public func credential(email: String, kind: PrincipalKind) async throws -> UserCredential? {
        try await db.read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM \(kind.userTable) WHERE email = ?"), arguments: [normalizeEmail(email)])
                .map { UserCredential(row: $0, kind: kind) }
        }
    }

    public func credential(_ principal: PrincipalRef) async throws -> UserCredential? {
        try await db.read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM \(principal.kind.userTable) WHERE id = ?"), arguments: [principal.id])
                .map { UserCredential(row: $0, kind: principal.kind) }
        }
    }

    public func setPasswordHash(_ principal: PrincipalRef, hash: String, now: Int64) async throws {
        try await db.write { db in
            try db.execute(sql: "UPDATE \(principal.kind.userTable) SET password_hash = ?, updated_at = ? WHERE id = ?",
                           arguments: [hash, now, principal.id])
        }
    }

    public func recordSignIn(_ principal: PrincipalRef, now: Int64) async throws {
        try await db.write { db in
            try db.execute(sql: "UPDATE \(principal.kind.userTable) SET last_sign_in_at = ? WHERE id = ?", arguments: [now, principal.id])
        }
    }

    /// A customer and the accounts they may act for, in one read (the session lookup's transaction).
    static func customerWithAccounts(id: String, _ db: Database) throws -> (user: CustomerUser, accounts: [Account])? {
        guard let user = try Row.fetchOne(try db.cachedStatement(sql: "SELECT \(CustomerUser.columns) FROM customer_users WHERE id = ?"),
                                          arguments: [id]).map(CustomerUser.init(columns:)) else {
            return nil
        }
        // Ordered here by name then id, byte-wise like SQLite's BINARY collation: an ORDER BY made
        // SQLite build a sorter for these few rows on every request.
        let accounts = try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT a.id, a.external_id, a.name, a.status FROM accounts a JOIN account_memberships m ON m.account_id = a.id
            WHERE m.user_id = ?
            """), arguments: [id]).map(Account.init(columns:))
        return (user, accounts.sorted { a, b in
            a.name.utf8.elementsEqual(b.name.utf8) ? a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
                : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        })
    }

    static func staff(id: String, _ db: Database) throws -> StaffUser? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM staff_users WHERE id = ?"), arguments: [id]).map(StaffUser.init(row:))
    }
}
