import Foundation
import GRDB

/// One security-relevant event. Never holds a password, code, token or card data.
public struct AuditEvent: Sendable, Equatable {
    public enum ActorKind: String, Sendable { case customer, staff, system, anonymous }

    public var action: String
    public var actorKind: ActorKind
    public var actorId: String?
    public var actorLabel: String
    public var impersonatorId: String?
    public var subject: PrincipalRef?
    public var accountId: String?
    public var clientAddress: String
    public var outcome: Outcome
    public var details: [String: String]
    public var occurredAt: Int64 = 0
    public var id: Int64 = 0

    public enum Outcome: String, Sendable { case success, failure }

    public init(action: String, actorKind: ActorKind, actorId: String? = nil, actorLabel: String = "",
                impersonatorId: String? = nil, subject: PrincipalRef? = nil, accountId: String? = nil,
                clientAddress: String = "", outcome: Outcome = .success, details: [String: String] = [:]) {
        self.action = action
        self.actorKind = actorKind
        self.actorId = actorId
        self.actorLabel = actorLabel
        self.impersonatorId = impersonatorId
        self.subject = subject
        self.accountId = accountId
        self.clientAddress = clientAddress
        self.outcome = outcome
        self.details = details
    }

    /// An event done by a principal to themselves.
    public static func by(_ user: UserCredential, _ action: String, client: ClientInfo, outcome: Outcome = .success,
                          details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, actorKind: user.principal.kind == .customer ? .customer : .staff,
                   actorId: user.principal.id, actorLabel: user.email, subject: user.principal,
                   clientAddress: client.address, outcome: outcome, details: details)
    }
}

/// The append-only audit trail. The table's triggers refuse updates and deletes, and nothing here
/// offers either: the staff console can read, filter and export the trail, never change it.
public struct AuditService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock

    public init(db: any DatabaseWriter, clock: PortalClock) {
        self.db = db
        self.clock = clock
    }

    public func record(_ event: AuditEvent) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in try Self.insert(event, now: now, db) }
    }

    /// For services that must write the event in the same transaction as the change it describes.
    public static func insert(_ e: AuditEvent, now: Int64, _ db: Database) throws {
        let details = String(decoding: try JSONEncoder.sorted.encode(e.details), as: UTF8.self)
        try db.execute(sql: """
            INSERT INTO audit_events (occurred_at, action, actor_kind, actor_id, actor_label, impersonator_id,
                                      subject_kind, subject_id, account_id, client_address, outcome, details)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [now, e.action, e.actorKind.rawValue, e.actorId, e.actorLabel, e.impersonatorId,
                             e.subject?.kind.rawValue, e.subject?.id, e.accountId, e.clientAddress, e.outcome.rawValue, details])
    }

    /// Recent events about one principal, newest first.
    public func events(about subject: PrincipalRef, limit: Int = 50) async throws -> [AuditEvent] {
        try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM audit_events WHERE subject_kind = ? AND subject_id = ? ORDER BY id DESC LIMIT ?
                """, arguments: [subject.kind.rawValue, subject.id, limit]).map(Self.event(from:))
        }
    }

    public func events(action: String, limit: Int = 50) async throws -> [AuditEvent] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_events WHERE action = ? ORDER BY id DESC LIMIT ?",
                             arguments: [action, limit]).map(Self.event(from:))
        }
    }

    /// Events about a principal or made by them (as themselves, or as the staff member behind an
    /// impersonation), newest first: the "recent activity" of a person.
    static func involving(_ principal: PrincipalRef, limit: Int, _ db: Database) throws -> [AuditEvent] {
        let actorKind = principal.kind == .customer ? AuditEvent.ActorKind.customer : .staff
        return try Row.fetchAll(db, sql: """
            SELECT * FROM audit_events
            WHERE (subject_kind = ? AND subject_id = ?) OR (actor_kind = ? AND actor_id = ?) OR impersonator_id = ?
            ORDER BY id DESC LIMIT ?
            """, arguments: [principal.kind.rawValue, principal.id, actorKind.rawValue, principal.id, principal.id, limit])
            .map(Self.event(from:))
    }

    // MARK: The staff console's trail

    /// One page of the filtered trail, newest first.
    public func search(_ filter: AuditFilter) async throws -> [AuditEvent] {
        try await fetch(filter, limit: min(max(filter.limit, 1), AuditFilter.maximumLimit), offset: max(filter.offset, 0),
                        beforeId: filter.beforeId)
    }

    /// The whole filtered trail (paging is ignored: an export is of what the filter matches, not of
    /// the page on screen), newest first, as RFC 4180 CSV with formula-like cells neutralised.
    public func csv(_ filter: AuditFilter, limit: Int = 100_000) async throws -> String {
        let events = try await fetch(filter, limit: limit, offset: 0, beforeId: nil)
        var writer = CSVWriter()
        writer.row(["Event", "Time (UTC)", "Action", "Outcome", "Actor kind", "Actor id", "Actor", "Impersonator id",
                    "Subject kind", "Subject id", "Account id", "Client address", "Details"])
        for e in events {
            let details = String(decoding: try JSONEncoder.sorted.encode(e.details), as: UTF8.self)
            writer.row(["\(e.id)", ISOTime.string(e.occurredAt), e.action,
                        e.outcome.rawValue, e.actorKind.rawValue, e.actorId ?? "", e.actorLabel, e.impersonatorId ?? "",
                        e.subject?.kind.rawValue ?? "", e.subject?.id ?? "", e.accountId ?? "", e.clientAddress, details])
        }
        return writer.text
    }

    private func fetch(_ filter: AuditFilter, limit: Int, offset: Int, beforeId: Int64?) async throws -> [AuditEvent] {
        try await db.read { db in
            var (whereSQL, arguments) = filter.whereClause()
            if let beforeId {
                whereSQL += " AND id < ?"
                arguments += [beforeId]
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM audit_events WHERE \(whereSQL) ORDER BY id DESC LIMIT ? OFFSET ?",
                                    arguments: arguments + [limit, offset]).map(Self.event(from:))
        }
    }

    static func event(from row: Row) -> AuditEvent {
        let details = (row["details"] as String?).flatMap {
            try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))
        } ?? [:]
        var event = AuditEvent(
            action: row["action"], actorKind: AuditEvent.ActorKind(rawValue: row["actor_kind"]) ?? .system,
            actorId: row["actor_id"], actorLabel: row["actor_label"], impersonatorId: row["impersonator_id"],
            subject: (row["subject_kind"] as String?).flatMap(PrincipalKind.init(rawValue:)).map { PrincipalRef(kind: $0, id: row["subject_id"]) },
            accountId: row["account_id"], clientAddress: row["client_address"],
            outcome: AuditEvent.Outcome(rawValue: row["outcome"]) ?? .success, details: details)
        event.occurredAt = row["occurred_at"]
        event.id = row["id"]
        return event
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
