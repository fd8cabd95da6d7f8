import GRDB

public enum InvoiceError: Error, Equatable, Sendable {
    case notFound
    case invalid(String)
}

/// Invoices as customers see them (always through a `CustomerScope`), and the writes that keep them
/// in step with the CRM. Every read is scoped: another customer's invoice is simply not found.
public struct InvoiceService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock

    /// The customer pages' reads (a list page, an invoice, the overview) run in read lanes when given.
    let lanes: ReadLanes?

    public init(db: any DatabaseWriter, clock: PortalClock, lanes: ReadLanes? = nil) {
        self.db = db
        self.clock = clock
        self.lanes = lanes
    }

    private func pageRead<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if let lanes { return try await lanes.read(body) }
        return try await db.read(body)
    }

    var today: CalendarDate { CalendarDate(clock.now()) }

    // MARK: Reads

    public func list(_ scope: CustomerScope, filter: InvoiceFilter) async throws -> InvoicePage {
        let today = self.today
        return try await pageRead { db in
            try Self.requireMembership(scope, db)
            let (whereSQL, arguments) = Self.whereClause(scope, filter: filter, today: today)
            let totals = try Self.totals(whereSQL: whereSQL, arguments: arguments, db)
            let count = totals.reduce(0) { $0 + $1.count }
            let pageCount = max(1, (count + InvoiceFilter.pageSize - 1) / InvoiceFilter.pageSize)
            var filter = filter
            filter.page = min(filter.page, pageCount)
            let order = Self.orderClause(filter)
            let items = try Self.summaries(try db.cachedStatement(sql: """
                SELECT \(Self.summaryColumns) FROM invoices WHERE \(whereSQL) ORDER BY \(order) LIMIT ? OFFSET ?
                """), arguments: arguments + [InvoiceFilter.pageSize, (filter.page - 1) * InvoiceFilter.pageSize], today: today)
            return InvoicePage(items: items, filter: filter, totalCount: count, pageCount: pageCount, totals: totals)
        }
    }

    /// Every invoice matching the filter (for CSV), in list order.
    public func export(_ scope: CustomerScope, filter: InvoiceFilter, limit: Int = 50_000) async throws -> [InvoiceSummary] {
        let today = self.today
        return try await db.read { db in
            try Self.requireMembership(scope, db)
            let (whereSQL, arguments) = Self.whereClause(scope, filter: filter, today: today)
            return try Self.summaries(try db.cachedStatement(sql: """
                SELECT \(Self.summaryColumns) FROM invoices WHERE \(whereSQL) ORDER BY \(Self.orderClause(filter)) LIMIT ?
                """), arguments: arguments + [limit], today: today)
        }
    }

    /// One invoice of any account the user belongs to; drafts and other customers' invoices are not found.
    public func detail(userId: String, invoiceId: String) async throws -> InvoiceDetail {
        let today = self.today
        return try await pageRead { db in
            try Self.detail(db, invoiceId: invoiceId, today: today, accounts: "SELECT account_id FROM account_memberships WHERE user_id = ?",
                            [userId])
        }
    }

    /// One invoice of the scope's account; a payment link's holder reaches only the link's invoice.
    public func detail(_ scope: CustomerScope, invoiceId: String) async throws -> InvoiceDetail {
        let today = self.today
        return try await pageRead { db in
            try Self.requireMembership(scope, orLinkTo: invoiceId, db)
            return try Self.detail(db, invoiceId: invoiceId, today: today, accounts: "SELECT ?", [scope.accountId])
        }
    }

    /// `accounts` is a subquery naming the accounts the reader may see.
    private static func detail(_ db: Database, invoiceId: String, today: CalendarDate, accounts: String,
                               _ accountArguments: StatementArguments) throws -> InvoiceDetail {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT i.*, a.name AS account_name FROM invoices i JOIN accounts a ON a.id = i.account_id
            WHERE i.id = ? AND i.status != 'draft'
            AND i.account_id IN (\(accounts))
            """), arguments: [invoiceId] + accountArguments) else { throw InvoiceError.notFound }
        let summary = Self.summary(row, today: today)
        let currency = summary.total.currency
        let lines = try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position"), arguments: [invoiceId])
            .map(Self.line(from:))
        let payments = try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT p.*, pa.amount AS allocated FROM payment_allocations pa JOIN payments p ON p.id = pa.payment_id
            WHERE pa.invoice_id = ? ORDER BY p.created_at DESC, p.id
            """), arguments: [invoiceId]).map(Self.payment(from:))
        return InvoiceDetail(
            summary: summary, accountName: row["account_name"],
            subtotal: Money(row["subtotal"], currency), taxTotal: Money(row["tax_total"], currency),
            amountPaid: Money(row["amount_paid"], currency), lines: lines,
            totalsMismatch: row["totals_mismatch"] as Bool, billToName: row["bill_to_name"],
            billToAddress: row["bill_to_address"], notes: row["notes"], terms: row["terms"], payments: payments)
    }

    public func dashboard(_ scope: CustomerScope) async throws -> DashboardSummary {
        let today = self.today
        return try await pageRead { db in
            try Self.requireMembership(scope, db)
            let (openWhere, openArgs) = Self.whereClause(scope, filter: InvoiceFilter(status: .open), today: today)
            let (overdueWhere, overdueArgs) = Self.whereClause(scope, filter: InvoiceFilter(status: .overdue), today: today)
            let balances = try Self.totals(whereSQL: openWhere, arguments: openArgs, db)
            let overdue = try Self.totals(whereSQL: overdueWhere, arguments: overdueArgs, db)
            let next = try Self.summaries(try db.cachedStatement(sql: """
                SELECT \(Self.summaryColumns) FROM invoices WHERE \(openWhere) AND due_date >= ? ORDER BY due_date, id LIMIT 1
                """), arguments: openArgs + [today.iso], today: today).first
            let last = try Row.fetchOne(try db.cachedStatement(sql: """
                SELECT p.*, p.amount AS allocated FROM payments p WHERE p.account_id = ? AND p.status IN ('succeeded', 'partially_refunded', 'refunded')
                ORDER BY p.created_at DESC, p.id DESC LIMIT 1
                """), arguments: [scope.accountId]).map(Self.payment(from:))
            return DashboardSummary(balances: balances, overdue: overdue, overdueCount: overdue.reduce(0) { $0 + $1.count },
                                    nextDue: next, lastPayment: last)
        }
    }

    // MARK: Writes

    /// Creates or updates an invoice by its CRM id (or inserts one without), replacing its lines.
    /// Totals are stored exactly as sent; a mismatch with the lines is flagged, never corrected.
    @discardableResult
    public func upsert(_ input: InvoiceInput) async throws -> String {
        try Self.validate(input)
        let now = clock.nowSeconds()
        return try await db.write { db in try Self.writeRow(input, now: now, db) }
    }

    /// The same for many invoices in one write transaction (a CRM import's page): each is written in
    /// its own savepoint, so one that fails leaves the others. Results are in input order.
    public func upsert(_ inputs: [InvoiceInput]) async throws -> [Result<String, any Error>] {
        let now = clock.nowSeconds()
        return try await db.write { db in
            inputs.map { input in
                Result {
                    try Self.validate(input)
                    var id = ""
                    try db.inSavepoint {
                        id = try Self.writeRow(input, now: now, db)
                        return .commit
                    }
                    return id
                }
            }
        }
    }

    static func validate(_ input: InvoiceInput) throws {
        guard !input.number.trimmingCharacters(in: .whitespaces).isEmpty else { throw InvoiceError.invalid("invoice number is empty") }
    }

    /// One invoice and its lines, inside the caller's transaction; shared by both `upsert`s.
    static func writeRow(_ input: InvoiceInput, now: Int64, _ db: Database) throws -> String {
        let existing = try input.externalId.flatMap {
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT id, amount_paid FROM invoices WHERE external_id = ?"), arguments: [$0])
        }
        let id: String = existing?["id"] ?? OpaqueID.make("inv")
        // Payments made here are the portal's record; the CRM's figure only seeds a new invoice.
        let amountPaid: Int64 = existing?["amount_paid"] ?? input.amountPaid
        let status = InvoiceStatusRules.status(crmStatus: input.crmStatus, total: input.total, amountPaid: amountPaid)
        let balance = status == .void ? 0 : input.total - amountPaid
        let arguments: StatementArguments = [
            input.accountId, input.externalId, input.number, input.issueDate.iso, input.dueDate.iso, input.currency.code,
            input.subtotal, input.taxTotal, input.total, amountPaid, balance, status.rawValue, !input.totalsMatchLines,
            input.billToName, input.billToAddress, input.notes, input.terms, input.crmModifiedOn, now,
        ]
        if existing == nil {
            try db.execute(sql: """
                INSERT INTO invoices (account_id, external_id, number, issue_date, due_date, currency, subtotal, tax_total, total,
                    amount_paid, balance, status, totals_mismatch, bill_to_name, bill_to_address, notes, terms, crm_modified_on,
                    updated_at, id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: arguments + [id, now])
        } else {
            try db.execute(sql: """
                UPDATE invoices SET account_id = ?, external_id = ?, number = ?, issue_date = ?, due_date = ?, currency = ?,
                    subtotal = ?, tax_total = ?, total = ?, amount_paid = ?, balance = ?, status = ?, totals_mismatch = ?,
                    bill_to_name = ?, bill_to_address = ?, notes = ?, terms = ?, crm_modified_on = ?, updated_at = ?
                WHERE id = ?
                """, arguments: arguments + [id])
            try db.execute(sql: "DELETE FROM invoice_lines WHERE invoice_id = ?", arguments: [id])
        }
        for line in input.lines {
            try db.execute(sql: """
                INSERT INTO invoice_lines (id, invoice_id, position, external_id, description, quantity_milli, unit_price,
                    discount, tax, line_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [OpaqueID.make("lin"), id, line.position, line.externalId, line.description, line.quantity.milli,
                                 line.unitPrice, line.discount, line.tax, line.lineTotal])
        }
        return id
    }

    // MARK: SQL pieces

    /// The account's members only. A payment link's holder is refused (not found) whatever the
    /// call: the link opens one invoice, never the account, so the few services a link may use say
    /// so by calling `requireMembership(_:orLinkTo:_:)` instead.
    static func requireMembership(_ scope: CustomerScope, _ db: Database) throws {
        guard case .user(let userId) = scope.holder else { throw InvoiceError.notFound }
        guard try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM account_memberships WHERE user_id = ? AND account_id = ?"),
                                arguments: [userId, scope.accountId]) == true else { throw InvoiceError.notFound }
    }

    /// The account's members, or the holder of a payment link doing what paying the link's own
    /// invoice needs: reading that invoice (`invoiceId`, which must then be the link's), paying it
    /// with a card typed for the payment, and that payment's receipt.
    static func requireMembership(_ scope: CustomerScope, orLinkTo invoiceId: String?, _ db: Database) throws {
        guard case .paymentLink(let id, let linked) = scope.holder else { return try requireMembership(scope, db) }
        // Whether the link may still be used (expiry, revocation, the invoice's state) was decided
        // by `PaymentLinkService.inspect`; here only that it is this account's and this invoice's.
        guard invoiceId == nil || invoiceId == linked, try Bool.fetchOne(db, sql: """
            SELECT 1 FROM payment_links l JOIN invoices i ON i.id = l.invoice_id WHERE l.id = ? AND l.invoice_id = ? AND i.account_id = ?
            """, arguments: [id, linked, scope.accountId]) == true else { throw InvoiceError.notFound }
    }

    static func whereClause(_ scope: CustomerScope, filter: InvoiceFilter, today: CalendarDate) -> (String, StatementArguments) {
        var sql = "account_id = ?"
        var arguments: StatementArguments = [scope.accountId]
        switch filter.status {
        case .open: sql += " AND status IN ('open', 'partially_paid')"
        case .overdue:
            sql += " AND status IN ('open', 'partially_paid') AND due_date < ? AND balance > 0"
            arguments += [today.iso]
        case .paid: sql += " AND status = 'paid'"
        case .all: sql += " AND status != 'draft'"
        }
        let search = filter.search.trimmingCharacters(in: .whitespaces)
        if !search.isEmpty {
            // The wildcards are added in SQL: with a bare `LIKE ?` SQLite marks the statement to be
            // prepared again whenever that parameter is bound (in case the pattern allows an index
            // range), so every cached search statement was parsed and planned anew on every page.
            sql += " AND number LIKE '%' || ? || '%' \(LikePattern.escapeClause)"
            arguments += [LikePattern.escape(search)]
        }
        return (sql, arguments)
    }

    static func orderClause(_ filter: InvoiceFilter) -> String {
        let direction = filter.descending ? "DESC" : "ASC"
        switch filter.sort {
        case .dueDate: return "due_date \(direction), id \(direction)"
        case .issueDate: return "issue_date \(direction), id \(direction)"
        case .amount: return "total \(direction), id \(direction)"
        }
    }

    static func totals(whereSQL: String, arguments: StatementArguments, _ db: Database) throws -> [CurrencyTotals] {
        // Read from `invoices_account_totals` alone; the few currencies are sorted here rather than
        // by a second sorter in SQLite.
        let rows = try Row.fetchCursor(try db.cachedStatement(sql: """
            SELECT currency, count(*), sum(total), sum(balance) FROM invoices WHERE \(whereSQL) GROUP BY currency
            """), arguments: arguments)
        var totals: [CurrencyTotals] = []
        while let row = try rows.next() {
            guard let currency = CurrencyCode(row[0]) else { continue }
            totals.append(CurrencyTotals(currency: currency, count: row[1], total: Money(row[2], currency), balance: Money(row[3], currency)))
        }
        return totals.sorted { $0.currency < $1.currency }
    }

    /// The columns `summaries` reads, in its order.
    static let summaryColumns = "id, account_id, number, issue_date, due_date, currency, total, balance, status"

    /// List rows from a statement selecting `summaryColumns`, read by position straight off the
    /// cursor: no row copies and no column lookups by name (both showed in the list's profile).
    static func summaries(_ statement: Statement, arguments: StatementArguments, today: CalendarDate) throws -> [InvoiceSummary] {
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var items: [InvoiceSummary] = []
        while let row = try rows.next() {
            let currency = CurrencyCode(row[5]) ?? CurrencyCode("XXX")!
            let status = InvoiceStatus(rawValue: row[8]) ?? .open
            let due = CalendarDate(iso: row[4]) ?? today
            let balance: Int64 = row[7]
            items.append(InvoiceSummary(
                id: row[0], accountId: row[1], number: row[2], issueDate: CalendarDate(iso: row[3]) ?? today, dueDate: due,
                total: Money(row[6], currency), balance: Money(balance, currency), status: status,
                isOverdue: InvoiceStatusRules.isOverdue(status: status, dueDate: due, balance: balance, today: today)))
        }
        return items
    }

    /// An invoice row read by column name (for `SELECT i.*` and other queries; list queries use `summaries`).
    static func summary(_ row: Row, today: CalendarDate) -> InvoiceSummary {
        let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        let status = InvoiceStatus(rawValue: row["status"]) ?? .open
        let due = CalendarDate(iso: row["due_date"]) ?? today
        let balance: Int64 = row["balance"]
        return InvoiceSummary(
            id: row["id"], accountId: row["account_id"], number: row["number"],
            issueDate: CalendarDate(iso: row["issue_date"]) ?? today, dueDate: due,
            total: Money(row["total"], currency), balance: Money(balance, currency), status: status,
            isOverdue: InvoiceStatusRules.isOverdue(status: status, dueDate: due, balance: balance, today: today))
    }

    static func line(from row: Row) -> InvoiceLine {
        InvoiceLine(position: row["position"], externalId: row["external_id"], description: row["description"],
                    quantity: Quantity(milli: row["quantity_milli"]), unitPrice: row["unit_price"], discount: row["discount"],
                    tax: row["tax"], lineTotal: row["line_total"])
    }

    static func payment(from row: Row) -> PaymentSummary {
        let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        return PaymentSummary(id: row["id"], createdAt: row["created_at"], amount: Money(row["amount"], currency),
                              allocated: Money(row["allocated"], currency), status: row["status"],
                              methodBrand: row["method_brand"], methodLast4: row["method_last4"])
    }
}
