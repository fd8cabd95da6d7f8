import Foundation
import GRDB

/// Generates a large, realistic data set for `make bench`: many accounts, invoices and lines, plus
/// one signed-in-able customer whose account has several pages of invoices. Writes in large
/// transactions with prepared statements; never used by the product itself.
public struct BenchmarkData: Sendable {
    public var accounts: Int
    public var invoices: Int
    public var lines: Int
    /// Invoices on the benchmark user's own account (the page being measured).
    public var benchAccountInvoices: Int = 120

    public init(accounts: Int, invoices: Int, lines: Int) {
        self.accounts = accounts
        self.invoices = invoices
        self.lines = lines
    }

    public struct Result: Sendable {
        public var benchAccountId: String
        public var pdfInvoiceId: String
    }

    public func generate(into db: any DatabaseWriter, today: CalendarDate, progress: @Sendable (String) -> Void) throws -> Result {
        var random = SplitMix(seed: 7)
        let now = Int64(Date().timeIntervalSince1970)
        let accountIds = (0..<accounts).map { String(format: "acc_bench%08d", $0) }
        try db.write { db in
            let statement = try db.makeStatement(sql: "INSERT INTO accounts (id, external_id, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?)")
            for (i, id) in accountIds.enumerated() {
                try statement.execute(arguments: [id, "bench-\(i)", "Bench Customer \(i) GmbH", now, now])
            }
        }
        progress("accounts: \(accounts)")
        let descriptions = [
            "Industrial widget, stainless steel", "Consulting — Ørsted feasibility review", "Łódź warehouse storage, pallet-month",
            "Müller on-site installation and commissioning including cabling and training", "Spare gaskets (pack of 50)",
            "Annual support subscription", "Express freight surcharge", "Engineering hours",
        ]
        let linesPerInvoice = max(1, lines / max(invoices, 1))
        var pdfInvoiceId = ""
        let chunk = 50_000
        var written = 0
        while written < invoices {
            let count = min(chunk, invoices - written)
            try db.write { db in
                let invoice = try db.makeStatement(sql: """
                    INSERT INTO invoices (id, account_id, external_id, number, issue_date, due_date, currency, subtotal, tax_total, total,
                        amount_paid, balance, status, bill_to_name, created_at, updated_at)
                    VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let line = try db.makeStatement(sql: """
                    INSERT INTO invoice_lines (id, invoice_id, position, description, quantity_milli, unit_price, discount, tax, line_total)
                    VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)
                    """)
                for n in written..<(written + count) {
                    // The first `benchAccountInvoices` invoices belong to account 0, the bench user's.
                    let account = n < benchAccountInvoices ? accountIds[0] : accountIds[n % accountIds.count]
                    let id = String(format: "inv_bench%09d", n)
                    let lineCount = (n == 0) ? 120 : linesPerInvoice
                    if n == 0 { pdfInvoiceId = id }
                    var subtotal: Int64 = 0
                    var tax: Int64 = 0
                    var pending: [StatementArguments] = []
                    for p in 0..<lineCount {
                        let price = Int64(random.next(100..<50_000))
                        let quantity = Int64(random.next(1..<10)) * 1000
                        let total = price * quantity / 1000
                        let lineTax = total * 19 / 100
                        subtotal += total
                        tax += lineTax
                        pending.append([String(format: "lin_b%09d_%03d", n, p), id, p + 1,
                                        descriptions[random.next(0..<descriptions.count)], quantity, price, lineTax, total])
                    }
                    let issue = today.adding(days: -random.next(1..<400))
                    let due = issue.adding(days: 30)
                    let kind = random.next(0..<10)
                    let status = kind < 5 ? "open" : (kind < 8 ? "paid" : (kind == 8 ? "partially_paid" : "void"))
                    let totalAmount = subtotal + tax
                    let paid = status == "paid" ? totalAmount : (status == "partially_paid" ? totalAmount / 2 : 0)
                    try invoice.execute(arguments: [
                        id, account, "INV-\(String(format: "%07d", n))", issue.iso, due.iso, n % 7 == 0 ? "USD" : "EUR",
                        subtotal, tax, totalAmount, paid, status == "void" ? 0 : totalAmount - paid, status, "Bench Customer", now, now,
                    ])
                    // Lines after their invoice: the foreign key is checked per statement.
                    for arguments in pending { try line.execute(arguments: arguments) }
                }
            }
            written += count
            progress("invoices: \(written)/\(invoices)")
        }
        try db.write { db in try db.execute(sql: "ANALYZE") }
        return Result(benchAccountId: accountIds[0], pdfInvoiceId: pdfInvoiceId)
    }
}

/// A small, fast, seedable generator so benchmark data is the same every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ range: Range<Int>) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return range.lowerBound + Int(z % UInt64(range.count))
    }
}
