import GRDB

public enum EmailTokenPurpose: String, Sendable {
    case invite
    case reset
}

public enum EmailTokenError: Error, Equatable, Sendable {
    /// Unknown, already used or expired: the page says so without saying which.
    case invalidOrExpired
}

/// Single-use links sent by email. The link carries the token; the table holds its hash.
public struct EmailTokenStore: Sendable {
    let clock: PortalClock

    public init(clock: PortalClock) { self.clock = clock }

    /// Issues a token, invalidating earlier unused ones of the same purpose for the same principal.
    func issue(_ purpose: EmailTokenPurpose, for principal: PrincipalRef, lifetime: Int64, _ db: Database) throws -> String {
        let now = clock.nowSeconds()
        let token = SecretToken.generate()
        try db.execute(sql: """
            UPDATE email_tokens SET used_at = ? WHERE principal_kind = ? AND principal_id = ? AND purpose = ? AND used_at IS NULL
            """, arguments: [now, principal.kind.rawValue, principal.id, purpose.rawValue])
        try db.execute(sql: """
            INSERT INTO email_tokens (token_hash, purpose, principal_kind, principal_id, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [SecretToken.hash(token), purpose.rawValue, principal.kind.rawValue, principal.id, now, now + lifetime])
        return token
    }

    /// The principal a live token belongs to.
    func peek(_ purpose: EmailTokenPurpose, token: String, _ db: Database) throws -> PrincipalRef {
        let now = clock.nowSeconds()
        guard let row = try Row.fetchOne(db, sql: """
            SELECT principal_kind, principal_id FROM email_tokens
            WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
            """, arguments: [SecretToken.hash(token), purpose.rawValue, now]),
              let kind = PrincipalKind(rawValue: row["principal_kind"]) else {
            throw EmailTokenError.invalidOrExpired
        }
        return PrincipalRef(kind: kind, id: row["principal_id"])
    }

    /// Marks the token used; only one of two racing requests succeeds.
    func consume(_ purpose: EmailTokenPurpose, token: String, _ db: Database) throws -> PrincipalRef {
        let principal = try peek(purpose, token: token, db)
        try db.execute(sql: "UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                       arguments: [clock.nowSeconds(), SecretToken.hash(token)])
        guard db.changesCount == 1 else { throw EmailTokenError.invalidOrExpired }
        return principal
    }

    /// Recently issued unused token, to avoid mailing a reset link many times a minute.
    func lastIssued(_ purpose: EmailTokenPurpose, for principal: PrincipalRef, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: """
            SELECT max(created_at) FROM email_tokens WHERE principal_kind = ? AND principal_id = ? AND purpose = ?
            """, arguments: [principal.kind.rawValue, principal.id, purpose.rawValue])
    }
}
