import GRDB

extension SessionRecord {
    init(row: Row) {
        self.init(
            idHash: row["id_hash"], publicId: row["public_id"],
            principal: PrincipalRef(kind: PrincipalKind(rawValue: row["principal_kind"]) ?? .customer, id: row["principal_id"]),
            stage: SessionStage(rawValue: row["stage"]) ?? .password,
            createdAt: row["created_at"], lastSeenAt: row["last_seen_at"], expiresAt: row["expires_at"],
            clientAddress: row["client_address"], userAgent: row["user_agent"],
            activeAccountId: row["active_account_id"])
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
    init(row: Row) {
        self.init(id: row["id"], email: row["email"], name: row["name"],
                  status: UserStatus(rawValue: row["status"]) ?? .disabled, lastSignInAt: row["last_sign_in_at"])
    }
}

extension StaffUser {
    init(row: Row) {
        self.init(id: row["id"], email: row["email"], name: row["name"],
                  role: StaffRole(rawValue: row["role"]) ?? .support, status: UserStatus(rawValue: row["status"]) ?? .disabled)
    }
}

extension Account {
    init(row: Row) {
        self.init(id: row["id"], externalId: row["external_id"], name: row["name"], status: row["status"])
    }
}
