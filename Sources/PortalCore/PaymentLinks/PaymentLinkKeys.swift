import Crypto
import Foundation
import GRDB

/// The keys payment links are signed with. Each is 32 random bytes sealed with the master key
/// (`SecretBox`, bound to its id) rather than derived from it: rotating a derived key would mean
/// rotating the master key, and retiring one key must not touch the others.
public struct PaymentLinkKeys: Sendable {
    let db: any DatabaseWriter
    let secrets: SecretBox
    let clock: PortalClock

    public struct Info: Sendable, Equatable {
        public var id: Int64
        public var createdAt: Int64
        public var retiredAt: Int64?
        public var isCurrent: Bool
    }

    /// Makes a new key; new links are signed with it from now on.
    @discardableResult
    public func rotate() async throws -> Int64 {
        let now = clock.nowSeconds()
        return try await db.write { db in try self.create(now: now, db) }
    }

    /// Stops every link signed with the key. The current key cannot be retired: rotate first.
    public func retire(id: Int64) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            guard let current = try Self.currentId(db) else { throw PaymentLinkError.unknownKey }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM payment_link_keys WHERE id = ?", arguments: [id]) == true else {
                throw PaymentLinkError.unknownKey
            }
            guard id != current else { throw PaymentLinkError.currentKey }
            try db.execute(sql: "UPDATE payment_link_keys SET retired_at = ? WHERE id = ? AND retired_at IS NULL", arguments: [now, id])
            try AuditService.insert(AuditEvent(action: "payment_link.key_retire", actorKind: .system, actorLabel: "cli",
                                               details: ["key": String(id)]), now: now, db)
        }
    }

    public func list() async throws -> [Info] {
        try await db.read { db in
            let current = try Self.currentId(db)
            return try Row.fetchAll(db, sql: "SELECT id, created_at, retired_at FROM payment_link_keys ORDER BY id").map {
                Info(id: $0["id"], createdAt: $0["created_at"], retiredAt: $0["retired_at"], isCurrent: $0["id"] == current)
            }
        }
    }

    /// The signing key now, made on first use.
    func current(now: Int64, _ db: Database) throws -> (id: Int64, key: SymmetricKey) {
        let id = try Self.currentId(db) ?? create(now: now, db)
        guard let current = try key(id: id, db) else { throw PaymentLinkError.unknownKey }
        return (id, current.key)
    }

    /// A key by id, and whether it is retired; nil if there is no such key.
    func key(id: Int64, _ db: Database) throws -> (key: SymmetricKey, retired: Bool)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT sealed_key, retired_at FROM payment_link_keys WHERE id = ?", arguments: [id]) else {
            return nil
        }
        let bytes = try secrets.open(Array(row["sealed_key"] as Data), context: Self.context(id))
        return (SymmetricKey(data: bytes), (row["retired_at"] as Int64?) != nil)
    }

    private func create(now: Int64, _ db: Database) throws -> Int64 {
        try db.execute(sql: "INSERT INTO payment_link_keys (sealed_key, created_at) VALUES (x'', ?)", arguments: [now])
        let id = db.lastInsertedRowID
        let sealed = try secrets.seal(RandomBytes.make(count: 32), context: Self.context(id))
        try db.execute(sql: "UPDATE payment_link_keys SET sealed_key = ? WHERE id = ?", arguments: [Data(sealed), id])
        try AuditService.insert(AuditEvent(action: "payment_link.key_create", actorKind: .system, actorLabel: "payment links",
                                           details: ["key": String(id)]), now: now, db)
        return id
    }

    private static func currentId(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT max(id) FROM payment_link_keys WHERE retired_at IS NULL")
    }

    private static func context(_ id: Int64) -> String { "payment-link-key:\(id)" }
}
