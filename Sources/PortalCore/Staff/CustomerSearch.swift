import Foundation
import GRDB

/// One customer user found by the staff console's search, with why they were found.
public struct CustomerSearchResult: Sendable, Equatable {
    public enum Field: String, Sendable {
        case name, email
        case accountName = "account_name"
        case accountExternalId = "account_external_id"
        case invoiceNumber = "invoice_number"
    }

    public struct Match: Sendable, Hashable {
        public var field: Field
        /// The text that matched (the user's name, the account's CRM id, the invoice number), to
        /// show beside the result.
        public var value: String
        /// The account an account or invoice match came through.
        public var accountId: String?
    }

    public var user: CustomerUser
    /// All the accounts the user belongs to; those a match came through are named in `matches`.
    public var accounts: [Account]
    public var matches: [Match]

    /// The accounts the query found (by name, CRM id or an invoice), in the order of `accounts`.
    public var matchedAccounts: [Account] {
        let ids = Set(matches.compactMap(\.accountId))
        return accounts.filter { ids.contains($0.id) }
    }
}

/// The staff console's search. Names and emails match anywhere in the text; the identifiers people
/// paste or start typing (an account's CRM id, an invoice number) match from their start, which the
/// NOCASE index on invoice numbers serves however many invoices there are. All of it ignores case
/// (ASCII letters, as SQLite's LIKE does), and `%` and `_` are matched as themselves.
enum CustomerSearch {
    static func run(_ query: String, limit: Int, _ db: Database) throws -> [CustomerSearchResult] {
        let text = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, limit > 0 else { return [] }
        let contains = LikePattern.contains(text)
        let prefix = LikePattern.prefix(text)
        let escape = LikePattern.escapeClause
        var found: [String: [CustomerSearchResult.Match]] = [:]
        func add(_ userId: String, _ match: CustomerSearchResult.Match) {
            if found[userId]?.contains(match) != true { found[userId, default: []].append(match) }
        }

        for row in try Row.fetchAll(db, sql: """
            SELECT id, name, email, name LIKE :contains \(escape) AS by_name, email LIKE :contains \(escape) AS by_email
            FROM customer_users WHERE name LIKE :contains \(escape) OR email LIKE :contains \(escape)
            ORDER BY name, email, id LIMIT :limit
            """, arguments: ["contains": contains, "limit": limit]) {
            if row["by_name"] as Bool { add(row["id"], .init(field: .name, value: row["name"])) }
            if row["by_email"] as Bool { add(row["id"], .init(field: .email, value: row["email"])) }
        }
        for row in try Row.fetchAll(db, sql: """
            SELECT m.user_id, a.id, a.name, a.external_id, a.name LIKE :contains \(escape) AS by_name
            FROM accounts a JOIN account_memberships m ON m.account_id = a.id
            WHERE a.name LIKE :contains \(escape) OR a.external_id LIKE :prefix \(escape) ORDER BY a.name, a.id LIMIT :limit
            """, arguments: ["contains": contains, "prefix": prefix, "limit": limit]) {
            if row["by_name"] as Bool {
                add(row["user_id"], .init(field: .accountName, value: row["name"], accountId: row["id"]))
            } else {
                add(row["user_id"], .init(field: .accountExternalId, value: row["external_id"], accountId: row["id"]))
            }
        }
        for row in try Row.fetchAll(db, sql: """
            SELECT m.user_id, i.account_id, i.number FROM invoices i JOIN account_memberships m ON m.account_id = i.account_id
            WHERE i.number LIKE ? \(escape) ORDER BY i.number, i.id LIMIT ?
            """, arguments: [prefix, limit]) {
            add(row["user_id"], .init(field: .invoiceNumber, value: row["number"], accountId: row["account_id"]))
        }
        guard !found.isEmpty else { return [] }

        let ids = Array(found.keys)
        let marks = databaseQuestionMarks(count: ids.count)
        let users = try Row.fetchAll(db, sql: "SELECT * FROM customer_users WHERE id IN (\(marks))", arguments: StatementArguments(ids))
            .map(CustomerUser.init(row:))
        var accounts: [String: [Account]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT m.user_id, a.* FROM account_memberships m JOIN accounts a ON a.id = m.account_id
            WHERE m.user_id IN (\(marks)) ORDER BY a.name, a.id
            """, arguments: StatementArguments(ids)) {
            accounts[row["user_id"], default: []].append(Account(row: row))
        }
        // A match on the whole text (an exact invoice number or email) goes first; then by name.
        func isExact(_ result: CustomerSearchResult) -> Bool {
            result.matches.contains { $0.value.caseInsensitiveCompare(text) == .orderedSame }
        }
        let results = users.map { CustomerSearchResult(user: $0, accounts: accounts[$0.id] ?? [], matches: found[$0.id] ?? []) }
        return results.sorted { a, b in
            let (exactA, exactB) = (isExact(a), isExact(b))
            if exactA != exactB { return exactA }
            return (a.user.name.lowercased(), a.user.email, a.user.id) < (b.user.name.lowercased(), b.user.email, b.user.id)
        }.prefix(limit).map { $0 }
    }
}
