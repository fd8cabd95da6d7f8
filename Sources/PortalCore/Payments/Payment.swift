import GRDB

public enum PaymentStatus: String, Sendable, Equatable {
    case pending, succeeded, failed, refunded, voided
    case partiallyRefunded = "partially_refunded"
}

/// Where a charge started; recorded on the payment and pushed to the CRM as "is recurring".
public enum PaymentSource: String, Sendable, Equatable {
    case external, portal, autopay, plan
    case staffAssisted = "staff_assisted"
    case paymentLink = "payment_link"

    public var isRecurring: Bool { self == .autopay || self == .plan }
}

/// A payment as the customer and staff see it, with where its money went.
public struct Payment: Sendable, Equatable {
    public struct Allocation: Sendable, Equatable {
        public var invoiceId: String
        public var invoiceNumber: String
        public var amount: Money
    }

    public var id: String
    public var accountId: String
    public var accountName: String
    public var amount: Money
    public var status: PaymentStatus
    public var source: PaymentSource
    public var methodBrand: String?
    public var methodLast4: String?
    public var gateway: String?
    public var transactionId: String?
    public var authorizationCode: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var declineRetryable: Bool?
    public var amountRefunded: Money
    /// Kept as the account's credit: more was paid than the invoices owed when it settled.
    public var unapplied: Money
    public var createdAt: Int64
    public var settledAt: Int64?
    /// Set while the card's bank wants the customer to authenticate (3-D Secure) in the page.
    public var actionClientSecret: String?
    /// The invoices chosen when paying; allocations exist once it succeeded.
    public var requestedInvoices: [(id: String, number: String)]
    public var allocations: [Allocation]

    /// Still waiting for the gateway's final word (the call is in flight or its answer was lost).
    public var isProcessing: Bool { status == .pending && actionClientSecret == nil }
    public var requiresAction: Bool { status == .pending && actionClientSecret != nil }

    public var methodLabel: String? {
        guard let methodBrand, let methodLast4 else { return nil }
        return "\(PaymentMethod.brandName(methodBrand)) •••• \(methodLast4)"
    }

    public static func == (a: Payment, b: Payment) -> Bool {
        a.id == b.id && a.status == b.status && a.amount == b.amount && a.amountRefunded == b.amountRefunded && a.allocations == b.allocations
            && a.requestedInvoices.map(\.id) == b.requestedInvoices.map(\.id) && a.transactionId == b.transactionId
    }
}

/// What can go wrong when paying. The web layer maps each to one plain sentence.
public enum PaymentError: Error, Equatable, Sendable {
    case notConfigured
    case notFound
    /// The form's key is missing or malformed: the page must be loaded again.
    case formExpired
    case noInvoices
    case invoiceNotPayable(String)
    case mixedCurrencies
    case invalidAmount
    case belowMinimum(Money)
    case aboveBalance(Money)
    case methodNotFound
    case methodExpired
    case cardNotSaved(String)
    case gateway(String)
    /// A payment for this invoice (its number) is still waiting for its answer.
    case paymentInProgress(String, paymentId: String)
    /// The payment link was withdrawn, expired or had its key retired since the payer's page checked it.
    case linkNotUsable
}

/// Rules a business sets for payments.
public struct PaymentPolicy: Sendable, Equatable {
    /// The smallest partial payment, in minor units of the invoice currency. Paying an invoice's
    /// whole balance is always allowed, however small.
    public var minimumPartial: Int64
    /// Whether more than the balance may be paid, kept as credit on the account.
    public var allowOverpayment: Bool
    /// A payment without a final answer this long is looked up at the gateway.
    public var reconcileAfterSeconds: Int64

    public init(minimumPartial: Int64 = 100, allowOverpayment: Bool = false, reconcileAfterSeconds: Int64 = 600) {
        self.minimumPartial = minimumPartial
        self.allowOverpayment = allowOverpayment
        self.reconcileAfterSeconds = reconcileAfterSeconds
    }
}

enum PaymentRows {
    static func payment(_ db: Database, id: String) throws -> Payment? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT p.*, a.name AS account_name FROM payments p JOIN accounts a ON a.id = p.account_id WHERE p.id = ?
            """, arguments: [id]) else { return nil }
        let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        let requested = try Row.fetchAll(db, sql: """
            SELECT i.id, i.number FROM payment_requested_invoices r JOIN invoices i ON i.id = r.invoice_id
            WHERE r.payment_id = ? ORDER BY i.due_date, i.id
            """, arguments: [id]).map { (id: $0["id"] as String, number: $0["number"] as String) }
        let allocations = try Row.fetchAll(db, sql: """
            SELECT i.id, i.number, pa.amount FROM payment_allocations pa JOIN invoices i ON i.id = pa.invoice_id
            WHERE pa.payment_id = ? ORDER BY i.due_date, i.id
            """, arguments: [id]).map { Payment.Allocation(invoiceId: $0["id"], invoiceNumber: $0["number"], amount: Money($0["amount"], currency)) }
        return Payment(
            id: row["id"], accountId: row["account_id"], accountName: row["account_name"], amount: Money(row["amount"], currency),
            status: PaymentStatus(rawValue: row["status"]) ?? .pending, source: PaymentSource(rawValue: row["source"]) ?? .external,
            methodBrand: row["method_brand"], methodLast4: row["method_last4"], gateway: row["gateway"],
            transactionId: row["gateway_transaction_id"], authorizationCode: row["authorization_code"], errorCode: row["error_code"],
            errorMessage: row["error_message"], declineRetryable: row["decline_retryable"], amountRefunded: Money(row["amount_refunded"], currency),
            unapplied: Money(row["unapplied_amount"], currency), createdAt: row["created_at"], settledAt: row["settled_at"],
            actionClientSecret: row["action_client_secret"], requestedInvoices: requested, allocations: allocations)
    }
}
