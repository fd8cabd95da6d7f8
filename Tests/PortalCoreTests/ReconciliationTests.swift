import Testing
@testable import PortalCore

/// The reconciliation's comparison on plain values: each kind of mismatch on each side, nothing
/// when the three agree, the date range's checks and the CSV.
@Suite struct ReconciliationTests {
    let usd = CurrencyCode("USD")!

    func invoice(_ number: String, paid: Int64, status: String, crmId: String? = nil) -> Reconciliation.Invoice {
        Reconciliation.Invoice(id: "inv_\(number)", number: number, crmId: crmId ?? "crm-\(number)".lowercased(), amountPaid: Money(paid, usd), status: status)
    }

    func payment(_ id: String, _ amount: Int64, _ status: String, refunded: Int64 = 0, invoices: [Reconciliation.Invoice]) -> Reconciliation.Payment {
        Reconciliation.Payment(id: id, amount: Money(amount, usd), amountRefunded: refunded, status: status, invoices: invoices)
    }

    func charge(_ amount: Int64, _ status: GatewayTransactionStatus, refunded: Int64? = nil) -> GatewayTransaction {
        GatewayTransaction(transactionId: "tx", status: status, amount: Money(amount, usd), amountRefunded: refunded.map { Money($0, usd) })
    }

    @Test func everythingAgreeingIsNoMismatch() {
        let paid = invoice("INV-1", paid: 5_000, status: "paid")
        let partly = invoice("INV-2", paid: 1_000, status: "partially_paid")
        let payments = [payment("pay_1", 5_000, "succeeded", invoices: [paid]),
                        payment("pay_2", 2_000, "partially_refunded", refunded: 1_000, invoices: [partly]),
                        payment("pay_3", 700, "failed", invoices: [partly]), payment("pay_4", 700, "pending", invoices: [partly])]
        let gateway = ["pay_1": charge(5_000, .succeeded), "pay_2": charge(2_000, .succeeded, refunded: 1_000), "pay_3": charge(700, .declined)]
        let crm = ["crm-inv-1": CRMInvoiceState(paymentAmount: Money(5_000, usd), status: "paid"),
                   "crm-inv-2": CRMInvoiceState(paymentAmount: Money(1_000, usd), status: "partially_paid")]
        #expect(Reconciliation.compare(payments, gateway: gateway, lookedUp: ["pay_1", "pay_2", "pay_3", "pay_4"], crm: crm).isEmpty)
    }

    @Test func anAbandonedThreeDSecurePaymentIsNoMismatch() {
        // The payer never finished the challenge: the gateway still says "requires action", the
        // portal gave up on it after a day and marked it failed; nothing was charged.
        let inv = invoice("INV-1", paid: 0, status: "open")
        let payments = [payment("pay_3ds", 700, "failed", invoices: [inv]), payment("pay_paid", 700, "succeeded", invoices: [inv])]
        let gateway = ["pay_3ds": charge(700, .requiresAction), "pay_paid": charge(700, .requiresAction)]
        let found = Reconciliation.compare(payments, gateway: gateway, lookedUp: ["pay_3ds", "pay_paid"], crm: nil)
        #expect(found.map(\.paymentId) == ["pay_paid"], "a succeeded payment the gateway never completed is still a mismatch")
    }

    @Test func eachGatewayMismatchKind() {
        let inv = invoice("INV-1", paid: 5_000, status: "paid")
        let payments = [payment("pay_missing", 5_000, "succeeded", invoices: [inv]),
                        payment("pay_not_booked", 5_000, "failed", invoices: [inv]),
                        payment("pay_status", 5_000, "succeeded", invoices: [inv]),
                        payment("pay_amount", 5_000, "succeeded", invoices: [inv]),
                        payment("pay_refund", 5_000, "partially_refunded", refunded: 1_000, invoices: [inv])]
        let gateway = ["pay_not_booked": charge(5_000, .succeeded), "pay_status": charge(5_000, .voided), "pay_amount": charge(4_999, .succeeded),
                       "pay_refund": charge(5_000, .partiallyRefunded, refunded: 2_000)]
        let found = Reconciliation.compare(payments, gateway: gateway, lookedUp: Set(payments.map(\.id)), crm: nil)
        let summary = found.map { "\($0.paymentId) \($0.kind.rawValue) \($0.side.rawValue) \($0.portal) | \($0.other)" }
        #expect(summary == [
            "pay_missing missing gateway succeeded $50.00 | no charge",
            "pay_not_booked missing portal failed | succeeded",
            "pay_status status gateway succeeded | voided",
            "pay_amount amount gateway $50.00 | $49.99",
            "pay_refund amount gateway refunded $10.00 | refunded $20.00",
        ], "\(summary)")
        // A payment not looked up (another gateway) is not compared.
        #expect(Reconciliation.compare(payments, gateway: gateway, lookedUp: ["pay_amount"], crm: nil).map(\.paymentId) == ["pay_amount"])
    }

    @Test func eachCRMMismatchKindOncePerInvoice() {
        let missing = invoice("INV-GONE", paid: 5_000, status: "paid")
        let amount = invoice("INV-AMT", paid: 5_000, status: "paid")
        let status = invoice("INV-ST", paid: 5_000, status: "paid")
        let unreadable = invoice("INV-BAD", paid: 100, status: "partially_paid")
        let noCRM = Reconciliation.Invoice(id: "inv_local", number: "LOCAL-1", crmId: nil, amountPaid: Money(1, usd), status: "paid")
        let payments = [payment("pay_1", 10_000, "succeeded", invoices: [missing, amount, noCRM]),
                        payment("pay_2", 10_100, "succeeded", invoices: [status, unreadable, amount])]
        let crm = ["crm-inv-amt": CRMInvoiceState(paymentAmount: Money(4_000, usd), status: "paid"),
                   "crm-inv-st": CRMInvoiceState(paymentAmount: Money(5_000, usd), status: "open"),
                   "crm-inv-bad": CRMInvoiceState(paymentAmount: nil, status: "partially_paid")]
        let found = Reconciliation.compare(payments, gateway: [:], lookedUp: nil, crm: crm)
        let summary = found.map { "\($0.invoiceNumber ?? "") \($0.kind.rawValue) \($0.side.rawValue) \($0.portal) | \($0.other)" }
        #expect(summary == [
            "INV-GONE missing crm crm-inv-gone | no invoice",
            "INV-AMT amount crm paid $50.00 | paid $40.00",
            "INV-ST status crm paid | open",
            "INV-BAD amount crm paid $1.00 | unreadable amount",
        ], "\(summary)")
    }

    @Test func theRangeIsTwoDatesInOrderAtMostAYear() throws {
        let range = try ReconciliationRange(from: "2027-01-01", to: "2027-01-31")
        #expect(range.seconds.to - range.seconds.from == 31 * 86_400)
        #expect(throws: ReconciliationRange.Problem.missing) { try ReconciliationRange(from: "", to: "2027-01-31") }
        #expect(throws: ReconciliationRange.Problem.malformed) { try ReconciliationRange(from: "yesterday", to: "2027-01-31") }
        #expect(throws: ReconciliationRange.Problem.malformed) { try ReconciliationRange(from: "2027-02-30x", to: "2027-03-01") }
        #expect(throws: ReconciliationRange.Problem.reversed) { try ReconciliationRange(from: "2027-02-01", to: "2027-01-31") }
        #expect(throws: ReconciliationRange.Problem.tooLong) { try ReconciliationRange(from: "2026-01-01", to: "2027-01-31") }
    }

    @Test func theCSVIsRFC4180WithFormulasNeutralised() throws {
        let inv = invoice("=HYPERLINK(\"x\")", paid: 5_000, status: "paid")
        let found = Reconciliation.compare([payment("pay_1", 5_000, "succeeded", invoices: [inv])], gateway: [:], lookedUp: ["pay_1"], crm: nil)
        let report = ReconciliationReport(range: try ReconciliationRange(from: "2027-01-01", to: "2027-01-02"), paymentsChecked: 1,
                                          invoicesChecked: 0, mismatches: found, notes: [])
        let csv = ReconciliationService.csv(report)
        #expect(csv.hasPrefix("kind,side,payment,invoice,portal,other side,detail\r\n"))
        #expect(csv.contains("missing,gateway,pay_1,\"'=HYPERLINK(\"\"x\"\")\",succeeded $50.00,no charge,"))
        #expect(csv.hasSuffix("\r\n") && csv.components(separatedBy: "\r\n").count == 3)
    }
}
