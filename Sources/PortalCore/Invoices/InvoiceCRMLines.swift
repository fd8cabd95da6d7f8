import GRDB

/// A line as the portal holds it, with what a CRM import needs to compare it against the CRM's copy.
public struct StoredCRMLine: Sendable, Equatable {
    /// The CRM id of the line's invoice.
    public var invoiceExternalId: String
    public var currency: CurrencyCode
    public var line: InvoiceLine
}

extension InvoiceService {
    /// The portal's copies of these CRM lines, by line CRM id; ids the portal does not hold are absent.
    public func crmLines(externalIds: [String]) async throws -> [String: StoredCRMLine] {
        guard !externalIds.isEmpty else { return [:] }
        return try await db.read { db in
            var lines: [String: StoredCRMLine] = [:]
            for slice in SQLValueSlices.of(externalIds) {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT l.*, i.external_id AS invoice_external_id, i.currency AS invoice_currency
                    FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
                    WHERE l.external_id IN (\(databaseQuestionMarks(count: slice.count))) AND i.external_id IS NOT NULL
                    """, arguments: StatementArguments(slice))
                while let row = try rows.next() {
                    guard let currency = CurrencyCode(row["invoice_currency"]) else { continue }
                    lines[row["external_id"]] = StoredCRMLine(invoiceExternalId: row["invoice_external_id"], currency: currency, line: Self.line(from: row))
                }
            }
            return lines
        }
    }
}
