import Foundation
import GRDB

/// Requests each API key may make per window; beyond it the API answers 429 with Retry-After.
public struct ApiKeyPolicy: Sendable, Equatable {
    public var requestsPerWindow: Int = 60
    public var windowSeconds: Int64 = 60

    public init(requestsPerWindow: Int = 60, windowSeconds: Int64 = 60) {
        self.requestsPerWindow = requestsPerWindow
        self.windowSeconds = windowSeconds
    }
}

public enum ApiKeyError: Error, Equatable, Sendable {
    /// No key, an unknown key or a revoked one: the caller is not told which.
    case unauthenticated
    case wrongScope(String)
    case rateLimited(retryAfter: Int64)
    case invalidName
    case invalidScope(String)
    case notFound
}

public struct ApiKey: Sendable, Equatable {
    public var id: String
    public var name: String
    public var scopes: [String]
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var revokedAt: Int64?
}

/// Bearer keys for the JSON API (Creatio's processes). A key is random, shown once when created,
/// and kept only as its SHA-256; it carries scopes, can be revoked, and is rate-limited per key.
public struct ApiKeyService: Sendable {
    /// Creating payment links (`POST /api/v1/payment-links`).
    public static let paymentLinksScope = "payment-links"
    public static let knownScopes: Set<String> = [paymentLinksScope]
    static let prefix = "ppk_"

    let db: any DatabaseWriter
    let clock: PortalClock
    public let policy: ApiKeyPolicy

    public init(db: any DatabaseWriter, clock: PortalClock, policy: ApiKeyPolicy = ApiKeyPolicy()) {
        self.db = db
        self.clock = clock
        self.policy = policy
    }

    /// Makes a key; the returned secret is the only copy there will ever be.
    public func create(name: String, scopes: [String]) async throws -> (key: ApiKey, secret: String) {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 100 else { throw ApiKeyError.invalidName }
        guard !scopes.isEmpty else { throw ApiKeyError.invalidScope("") }
        if let unknown = scopes.first(where: { !Self.knownScopes.contains($0) }) { throw ApiKeyError.invalidScope(unknown) }
        let secret = Self.prefix + SecretToken.generate()
        let key = ApiKey(id: OpaqueID.make("key"), name: name, scopes: Array(Set(scopes)).sorted(), createdAt: clock.nowSeconds())
        try await db.write { db in
            try db.execute(sql: "INSERT INTO api_keys (id, name, scopes, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key.id, key.name, key.scopes.joined(separator: " "), SecretToken.hash(secret), key.createdAt])
            try AuditService.insert(AuditEvent(action: "api_key.create", actorKind: .system, actorLabel: "cli",
                                               details: ["key": key.id, "name": key.name, "scopes": key.scopes.joined(separator: " ")]),
                                    now: key.createdAt, db)
        }
        return (key, secret)
    }

    public func list() async throws -> [ApiKey] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id").map(Self.key)
        }
    }

    public func revoke(id: String) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM api_keys WHERE id = ?", arguments: [id]) == true else { throw ApiKeyError.notFound }
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, id])
            try AuditService.insert(AuditEvent(action: "api_key.revoke", actorKind: .system, actorLabel: "cli", details: ["key": id]),
                                    now: now, db)
        }
    }

    /// The key a request's `Authorization: Bearer …` names, if it is live, holds `scope` and is
    /// within its rate; the request is counted against the key.
    public func authenticate(bearer: String?, scope: String) async throws -> ApiKey {
        guard let bearer, bearer.hasPrefix(Self.prefix), bearer.utf8.count <= 100 else { throw ApiKeyError.unauthenticated }
        let now = clock.nowSeconds()
        let policy = self.policy
        return try await db.write { db in
            guard let key = try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                                             arguments: [SecretToken.hash(bearer)]).map(Self.key) else { throw ApiKeyError.unauthenticated }
            guard key.scopes.contains(scope) else { throw ApiKeyError.wrongScope(scope) }
            let window = now - now % policy.windowSeconds
            try db.execute(sql: "DELETE FROM api_key_usage WHERE key_id = ? AND window_start < ?", arguments: [key.id, window])
            try db.execute(sql: """
                INSERT INTO api_key_usage (key_id, window_start, requests) VALUES (?, ?, 1)
                ON CONFLICT(key_id, window_start) DO UPDATE SET requests = requests + 1
                """, arguments: [key.id, window])
            let used = try Int.fetchOne(db, sql: "SELECT requests FROM api_key_usage WHERE key_id = ? AND window_start = ?",
                                        arguments: [key.id, window]) ?? 0
            guard used <= policy.requestsPerWindow else { throw ApiKeyError.rateLimited(retryAfter: window + policy.windowSeconds - now) }
            try db.execute(sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ?", arguments: [now, key.id])
            return key
        }
    }

    private static func key(_ row: Row) -> ApiKey {
        ApiKey(id: row["id"], name: row["name"], scopes: (row["scopes"] as String).split(separator: " ").map(String.init),
               createdAt: row["created_at"], lastUsedAt: row["last_used_at"], revokedAt: row["revoked_at"])
    }
}
