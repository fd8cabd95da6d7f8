import GRDB

// Rows read on every signed-in request are selected by explicit column lists and read by position:
// GRDB's lookup by name compares lower-cased names per column, which showed in the request profile.

extension SessionRecord {
    /// The columns `init(row:)` reads, in its order.
    static let columns = """
        id_hash, public_id, principal_kind, principal_id, stage, created_at, last_seen_at, expires_at, client_address, \
        user_agent, active_account_id
        """

    init(row: Row) {
        self.init(
            idHash: row[0], publicId: row[1],
            principal: PrincipalRef(kind: PrincipalKind(rawValue: row[2]) ?? .customer, id: row[3]),
            stage: SessionStage(rawValue: row[4]) ?? .password,
            createdAt: row[5], lastSeenAt: row[6], expiresAt: row[7],
            clientAddress: row[8], userAgent: row[9], activeAccountId: row[10])
    }
}

extension UserCredential {
    init(row: Row, kind: PrincipalKind) {
        self.init(
            principal: PrincipalRef(kind: kind, id: row["id"]), email: row["email"], name: row["name"],
            passwordHash: row["password_hash"], status: UserStatus(rawValue: row["status"]) ?? .disabled,
            lastSignInAt: row["last_sign_in_at"])
    }
}

extension CustomerUser {
    /// The columns `init(columns:)` reads, in its order.
    static let columns = "id, email, name, status, last_sign_in_at"

    /// Reads `columns` by position: the session lookup's hot path.
    init(columns row: Row) {
        self.init(id: row[0], email: row[1], name: row[2], status: UserStatus(rawValue: row[3]) ?? .disabled, lastSignInAt: row[4])
    }

    /// Reads by name, for any query that selects the columns (`SELECT *`, `u.*`).
    init(row: Row) {
        self.init(id: row["id"], email: row["email"], name: row["name"], status: UserStatus(rawValue: row["status"]) ?? .disabled,
                  lastSignInAt: row["last_sign_in_at"])
    }
}

extension StaffUser {
    init(row: Row) {
        self.init(id: row["id"], email: row["email"], name: row["name"],
                  role: StaffRole(rawValue: row["role"]) ?? .support, status: UserStatus(rawValue: row["status"]) ?? .disabled)
    }
}

extension Account {
    /// Reads `id, external_id, name, status`, in that order: the session lookup's hot path.
    init(columns row: Row) {
        self.init(id: row[0], externalId: row[1], name: row[2], status: row[3])
    }

    /// Reads by name, for any query that selects the columns.
    init(row: Row) {
        self.init(id: row["id"], externalId: row["external_id"], name: row["name"], status: row["status"])
    }
}
