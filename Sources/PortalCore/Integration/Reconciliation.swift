/// The comparison behind the reconciliation report, on plain values: a portal payment against the
/// gateway's record of its charge, and the invoices it paid against the CRM's record of them.
public enum Reconciliation {
    public enum Kind: String, Sendable { case missing, amount, status }
    public enum Side: String, Sendable { case gateway, portal, crm }

    public struct Invoice: Sendable, Equatable {
        public var id: String
        public var number: String
        public var crmId: String?
        public var amountPaid: Money
        public var status: String

        public init(id: String, number: String, crmId: String?, amountPaid: Money, status: String) {
            self.id = id
            self.number = number
            self.crmId = crmId
            self.amountPaid = amountPaid
            self.status = status
        }
    }

    public struct Payment: Sendable, Equatable {
        public var id: String
        public var amount: Money
        public var amountRefunded: Int64
        public var status: String
        public var invoices: [Invoice]

        public init(id: String, amount: Money, amountRefunded: Int64 = 0, status: String, invoices: [Invoice]) {
            self.id = id
            self.amount = amount
            self.amountRefunded = amountRefunded
            self.status = status
            self.invoices = invoices
        }
    }

    /// One disagreement. `side` is where the record is missing or the side that disagrees with the portal.
    public struct Mismatch: Sendable, Equatable {
        public var kind: Kind
        public var side: Side
        public var paymentId: String
        public var invoiceNumber: String?
        public var portal: String
        public var other: String
        public var detail: String
    }

    /// `gateway`: what a lookup found per payment id (a payment looked up and not found is absent);
    /// `lookedUp`: the payments that were looked up (nil: the gateway side was not compared).
    /// `crm`: the CRM's invoices by CRM id (nil: the CRM side was not compared).
    public static func compare(_ payments: [Payment], gateway: [String: GatewayTransaction], lookedUp: Set<String>?,
                               crm: [String: CRMInvoiceState]?) -> [Mismatch] {
        var found: [Mismatch] = []
        if let lookedUp {
            for payment in payments where lookedUp.contains(payment.id) {
                found += compare(payment, gateway[payment.id])
            }
        }
        guard let crm else { return found }
        var seen: Set<String> = []
        for payment in payments {
            for invoice in payment.invoices {
                guard let crmId = invoice.crmId, seen.insert(invoice.id).inserted else { continue }
                found += compare(invoice, crm[crmId.lowercased()], paymentId: payment.id)
            }
        }
        return found
    }

    static let settledAtGateway: Set<String> = ["succeeded", "partially_refunded", "refunded"]

    static func compare(_ payment: Payment, _ transaction: GatewayTransaction?) -> [Mismatch] {
        let number = payment.invoices.first?.number
        func mismatch(_ kind: Kind, _ side: Side, _ portal: String, _ other: String, _ detail: String) -> Mismatch {
            Mismatch(kind: kind, side: side, paymentId: payment.id, invoiceNumber: number, portal: portal, other: other, detail: detail)
        }
        guard let transaction else {
            // Pending: still in flight (the reconciler asks again); failed: never reached the gateway.
            guard !["pending", "failed"].contains(payment.status) else { return [] }
            return [mismatch(.missing, .gateway, "\(payment.status) \(payment.amount.formatted)", "no charge",
                             "The portal records this payment but the gateway has no charge for it.")]
        }
        let gatewayStatus = effectiveStatus(transaction)
        var found: [Mismatch] = []
        if payment.status == "failed" && settledAtGateway.contains(gatewayStatus) {
            found.append(mismatch(.missing, .portal, "failed", gatewayStatus,
                                  "The gateway took this charge but the portal recorded it as failed: the money is missing from the portal's books."))
        } else if !expected(portal: payment.status).contains(gatewayStatus) {
            found.append(mismatch(.status, .gateway, payment.status, gatewayStatus, "The portal and the gateway disagree on the payment's status."))
        }
        if transaction.amount != payment.amount {
            found.append(mismatch(.amount, .gateway, payment.amount.formatted, transaction.amount.formatted,
                                  "The gateway charged a different amount."))
        }
        if let refunded = transaction.amountRefunded, refunded.minorUnits != payment.amountRefunded {
            found.append(mismatch(.amount, .gateway, "refunded " + Money(payment.amountRefunded, payment.amount.currency).formatted,
                                  "refunded " + refunded.formatted, "The gateway refunded a different amount."))
        }
        return found
    }

    /// A lookup that says "succeeded" with part of it refunded is a partial refund in the portal's words.
    static func effectiveStatus(_ transaction: GatewayTransaction) -> String {
        if transaction.status == .succeeded, let refunded = transaction.amountRefunded, refunded.minorUnits > 0 {
            return refunded.minorUnits >= transaction.amount.minorUnits ? "refunded" : "partially_refunded"
        }
        return transaction.status.rawValue
    }

    static func expected(portal status: String) -> Set<String> {
        switch status {
        case "succeeded": ["succeeded"]
        case "partially_refunded": ["partially_refunded"]
        case "refunded": ["refunded"]
        case "voided": ["voided"]
        // A 3-D Secure challenge never finished stays "requires action" at the gateway; the portal
        // gave up on it (`PaymentService.reconcile`) and nothing was charged.
        case "failed": ["declined", "voided", "requires_action"]
        case "pending": ["processing", "requires_action"]
        default: []
        }
    }

    static func compare(_ invoice: Invoice, _ state: CRMInvoiceState?, paymentId: String) -> [Mismatch] {
        func mismatch(_ kind: Kind, _ portal: String, _ other: String, _ detail: String) -> Mismatch {
            Mismatch(kind: kind, side: .crm, paymentId: paymentId, invoiceNumber: invoice.number, portal: portal, other: other, detail: detail)
        }
        guard let state else {
            return [mismatch(.missing, invoice.crmId ?? "", "no invoice", "The CRM has no invoice with this id.")]
        }
        var found: [Mismatch] = []
        if state.paymentAmount != invoice.amountPaid {
            found.append(mismatch(.amount, "paid " + invoice.amountPaid.formatted, state.paymentAmount.map { "paid " + $0.formatted } ?? "unreadable amount",
                                  "The CRM records a different amount paid."))
        }
        if state.status != invoice.status {
            found.append(mismatch(.status, invoice.status, state.status, "The CRM records a different payment status."))
        }
        return found
    }
}
