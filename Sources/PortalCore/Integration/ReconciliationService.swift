import Foundation
import GRDB

/// A date range for the report: whole UTC days, both included.
public struct ReconciliationRange: Sendable, Equatable {
    public enum Problem: Error, Equatable, Sendable { case missing, malformed, reversed, tooLong }

    public let from: CalendarDate
    public let to: CalendarDate

    public static let maxDays = 366

    /// Both dates are required (YYYY-MM-DD), from no later than to, at most `maxDays` apart.
    public init(from: String, to: String) throws(Problem) {
        let from = from.trimmingCharacters(in: .whitespaces), to = to.trimmingCharacters(in: .whitespaces)
        guard !from.isEmpty, !to.isEmpty else { throw .missing }
        guard let start = CalendarDate(iso: from), let end = CalendarDate(iso: to) else { throw .malformed }
        guard start <= end else { throw .reversed }
        guard end.date.timeIntervalSince(start.date) < Double(Self.maxDays) * 86_400 else { throw .tooLong }
        self.from = start
        self.to = end
    }

    var seconds: (from: Int64, to: Int64) {
        (Int64(from.date.timeIntervalSince1970), Int64(to.date.timeIntervalSince1970) + 86_400)
    }
}

public struct ReconciliationReport: Sendable, Equatable {
    public var range: ReconciliationRange
    public var paymentsChecked: Int
    public var invoicesChecked: Int
    public var mismatches: [Reconciliation.Mismatch]
    /// Sides that could not be compared, and limits reached, in words.
    public var notes: [String]
}

/// Builds the reconciliation report for portal payments made in a range: each is looked up at the
/// gateway by its idempotency key (the payment's id, as `PaymentService.reconcile` does), and the
/// invoices they paid are read from the CRM by their CRM ids. The comparison is `Reconciliation`'s.
public struct ReconciliationService: Sendable {
    let db: any DatabaseWriter
    let gateway: (any PaymentGateway)?
    let control: (any IntegrationControl)?

    /// Payments per report: each costs a gateway request.
    public static let maxPayments = 1000

    public init(db: any DatabaseWriter, gateway: (any PaymentGateway)?, control: (any IntegrationControl)?) {
        self.db = db
        self.gateway = gateway
        self.control = control
    }

    public func report(_ range: ReconciliationRange) async throws -> ReconciliationReport {
        let bounds = range.seconds
        let (payments, gatewayNames, truncated) = try await db.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, amount, currency, status, amount_refunded, gateway FROM payments
                WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id LIMIT ?
                """, arguments: [bounds.from, bounds.to, Self.maxPayments + 1])
            var payments: [Reconciliation.Payment] = []
            var gateways: [String: String] = [:]
            for row in rows.prefix(Self.maxPayments) {
                let id: String = row["id"]
                guard let currency = CurrencyCode(row["currency"] as String) else { continue }
                let invoices = try Row.fetchAll(db, sql: """
                    SELECT i.id, i.number, i.external_id, i.amount_paid, i.currency, i.status FROM invoices i
                    WHERE i.id IN (SELECT invoice_id FROM payment_allocations WHERE payment_id = ?
                                   UNION SELECT invoice_id FROM payment_requested_invoices WHERE payment_id = ?)
                    ORDER BY i.due_date, i.number
                    """, arguments: [id, id]).compactMap { row -> Reconciliation.Invoice? in
                    guard let currency = CurrencyCode(row["currency"] as String) else { return nil }
                    return Reconciliation.Invoice(id: row["id"], number: row["number"], crmId: row["external_id"],
                                                  amountPaid: Money(row["amount_paid"], currency), status: row["status"])
                }
                payments.append(Reconciliation.Payment(id: id, amount: Money(row["amount"], currency), amountRefunded: row["amount_refunded"],
                                                       status: row["status"], invoices: invoices))
                if let gateway = row["gateway"] as String? { gateways[id] = gateway }
            }
            return (payments, gateways, rows.count > Self.maxPayments)
        }
        var notes: [String] = []
        if truncated { notes.append("Only the first \(Self.maxPayments) payments in the range were checked; choose a shorter range.") }

        var transactions: [String: GatewayTransaction] = [:]
        var lookedUp: Set<String>?
        if let gateway {
            var asked: Set<String> = []
            // A payment made through another gateway (before a switch) cannot be looked up through this one.
            let ours = payments.filter { gatewayNames[$0.id] == gateway.name }
            let others = payments.filter { gatewayNames[$0.id] != nil && gatewayNames[$0.id] != gateway.name }.count
            if others > 0 { notes.append("\(others) payment(s) made through another gateway were not compared with the gateway.") }
            for payment in ours {
                do {
                    if let found = try await gateway.findTransaction(idempotencyKey: payment.id) { transactions[payment.id] = found }
                    asked.insert(payment.id)
                } catch {
                    notes.append("The gateway could not be asked about payment \(payment.id): \(error)")
                }
            }
            lookedUp = asked
        } else {
            notes.append("No card gateway is configured, so the gateway side was not compared.")
        }

        var crm: [String: CRMInvoiceState]?
        var currencies: [String: CurrencyCode] = [:]
        for invoice in payments.flatMap(\.invoices) {
            if let crmId = invoice.crmId { currencies[crmId.lowercased()] = invoice.amountPaid.currency }
        }
        if let control {
            do {
                crm = currencies.isEmpty ? [:] : try await control.crmInvoices(currencies)
            } catch {
                notes.append("The CRM could not be read, so the CRM side was not compared: \(error)")
            }
        } else {
            notes.append("Creatio is not configured, so the CRM side was not compared.")
        }
        let mismatches = Reconciliation.compare(payments, gateway: transactions, lookedUp: lookedUp, crm: crm)
        return ReconciliationReport(range: range, paymentsChecked: payments.count, invoicesChecked: currencies.count,
                                    mismatches: mismatches, notes: notes)
    }

    /// The report as CSV (RFC 4180, formula-like cells neutralised by `CSVWriter`).
    public static func csv(_ report: ReconciliationReport) -> String {
        var writer = CSVWriter()
        writer.row(["kind", "side", "payment", "invoice", "portal", "other side", "detail"])
        for m in report.mismatches {
            writer.row([m.kind.rawValue, m.side.rawValue, m.paymentId, m.invoiceNumber ?? "", m.portal, m.other, m.detail])
        }
        return writer.text
    }
}
