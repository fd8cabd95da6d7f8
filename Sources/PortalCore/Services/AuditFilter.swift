import Foundation
import GRDB

/// Which audit events the staff console's `/staff/audit` shows or exports. Every field left nil
/// matches everything; the fields that are set must all match.
public struct AuditFilter: Sendable, Equatable {
    /// A staff or customer id (also matching events a staff member made while impersonating), or
    /// part of the actor's label, usually their email.
    public var actor: String?
    /// A subject id (the customer user an event is about) or an account id.
    public var customer: String?
    /// An exact action (`user.lock`), or a family of actions when it ends in `.` or `*`
    /// (`payment.` and `payment.*` both match `payment.refund`).
    public var action: String?
    /// Unix seconds, `from` included and `to` excluded, so consecutive ranges never overlap.
    public var from: Int64?
    public var to: Int64?
    /// Newest first. Either page with `offset`, or pass the last id shown as `beforeId`, which stays
    /// right while new events arrive.
    public var limit: Int
    public var offset: Int
    public var beforeId: Int64?

    public static let maximumLimit = 500

    public init(actor: String? = nil, customer: String? = nil, action: String? = nil, from: Int64? = nil, to: Int64? = nil,
                limit: Int = 100, offset: Int = 0, beforeId: Int64? = nil) {
        self.actor = actor
        self.customer = customer
        self.action = action
        self.from = from
        self.to = to
        self.limit = limit
        self.offset = offset
        self.beforeId = beforeId
    }

    /// The conditions, without paging; blank text fields are ignored like nil.
    func whereClause() -> (sql: String, arguments: StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let actor = Self.trimmed(actor) {
            conditions.append("(actor_id = ? OR impersonator_id = ? OR actor_label LIKE ? \(LikePattern.escapeClause))")
            arguments += [actor, actor, LikePattern.contains(actor)]
        }
        if let customer = Self.trimmed(customer) {
            conditions.append("(subject_id = ? OR account_id = ?)")
            arguments += [customer, customer]
        }
        if let action = Self.trimmed(action) {
            if action.hasSuffix(".") || action.hasSuffix("*") {
                // A range rather than LIKE: actions are compared exactly (LIKE ignores case) and the
                // range can use the action index.
                let prefix = action.hasSuffix("*") ? String(action.dropLast()) : action
                conditions.append("action >= ? AND action < ?")
                arguments += [prefix, Self.upperBound(ofPrefix: prefix)]
            } else {
                conditions.append("action = ?")
                arguments += [action]
            }
        }
        if let from {
            conditions.append("occurred_at >= ?")
            arguments += [from]
        }
        if let to {
            conditions.append("occurred_at < ?")
            arguments += [to]
        }
        return (conditions.isEmpty ? "1" : conditions.joined(separator: " AND "), arguments)
    }

    private static func trimmed(_ text: String?) -> String? {
        guard let value = text?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// The first string after every string starting with `prefix`, in SQLite's byte order.
    static func upperBound(ofPrefix prefix: String) -> String {
        guard let last = prefix.unicodeScalars.last, let next = Unicode.Scalar(last.value + 1) else {
            return prefix + "\u{10FFFF}"
        }
        return String(String.UnicodeScalarView(prefix.unicodeScalars.dropLast())) + String(next)
    }
}
