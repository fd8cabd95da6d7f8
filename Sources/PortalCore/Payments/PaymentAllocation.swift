import GRDB

public enum PaymentRecordError: Error, Equatable, Sendable {
    case noInvoices
    case invoiceNotPayable(String)
    case currencyMismatch
    case amountExceedsBalance
    case nonPositiveAmount
}

/// Splits a payment across invoices, oldest due date first, never beyond an invoice's balance.
public enum PaymentAllocator {
    public struct Open: Sendable, Equatable {
        public var invoiceId: String
        public var dueDate: CalendarDate
        public var balance: Int64

        public init(invoiceId: String, dueDate: CalendarDate, balance: Int64) {
            self.invoiceId = invoiceId
            self.dueDate = dueDate
            self.balance = balance
        }
    }

    /// Returns the allocations (each > 0) and what is left over (0 unless the amount exceeds the balances).
    public static func allocate(_ amount: Int64, across invoices: [Open]) -> (allocations: [(invoiceId: String, amount: Int64)], remainder: Int64) {
        var remaining = amount
        var allocations: [(invoiceId: String, amount: Int64)] = []
        for invoice in invoices.sorted(by: { ($0.dueDate, $0.invoiceId) < ($1.dueDate, $1.invoiceId) }) where remaining > 0 && invoice.balance > 0 {
            let part = min(remaining, invoice.balance)
            allocations.append((invoice.invoiceId, part))
            remaining -= part
        }
        return (allocations, remaining)
    }
}

/// Records a payment made outside the portal (the demo's history, the CRM's records), its
/// allocations and the invoices' new balances in one transaction. Charges made here go through
/// `PaymentService` instead.
public struct PaymentLedger: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock

    public init(db: any DatabaseWriter, clock: PortalClock) {
        self.db = db
        self.clock = clock
    }

    public struct SettledPayment: Sendable {
        public var accountId: String
        public var invoiceIds: [String]
        public var amount: Money
        public var methodBrand: String?
        public var methodLast4: String?
        public var gateway: String?
        public var gatewayTransactionId: String?
        public var authorizationCode: String?
        public var at: Int64?

        public init(accountId: String, invoiceIds: [String], amount: Money, methodBrand: String? = nil, methodLast4: String? = nil,
                    gateway: String? = nil, gatewayTransactionId: String? = nil, authorizationCode: String? = nil, at: Int64? = nil) {
            self.accountId = accountId
            self.invoiceIds = invoiceIds
            self.amount = amount
            self.methodBrand = methodBrand
            self.methodLast4 = methodLast4
            self.gateway = gateway
            self.gatewayTransactionId = gatewayTransactionId
            self.authorizationCode = authorizationCode
            self.at = at
        }
    }

    @discardableResult
    public func recordSucceeded(_ payment: SettledPayment) async throws -> String {
        guard payment.amount.minorUnits > 0 else { throw PaymentRecordError.nonPositiveAmount }
        guard !payment.invoiceIds.isEmpty else { throw PaymentRecordError.noInvoices }
        let now = payment.at ?? clock.nowSeconds()
        return try await db.write { db in
            for id in payment.invoiceIds {
                guard let row = try Row.fetchOne(db, sql: "SELECT currency, status FROM invoices WHERE id = ? AND account_id = ?",
                                                  arguments: [id, payment.accountId]),
                      ["open", "partially_paid"].contains(row["status"] as String) else {
                    throw PaymentRecordError.invoiceNotPayable(id)
                }
                guard (row["currency"] as String) == payment.amount.currency.code else { throw PaymentRecordError.currencyMismatch }
            }
            let paymentId = OpaqueID.make("pay")
            try db.execute(sql: """
                INSERT INTO payments (id, account_id, amount, currency, status, method_brand, method_last4, gateway,
                    gateway_transaction_id, authorization_code, created_at, settled_at)
                VALUES (?, ?, ?, ?, 'succeeded', ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [paymentId, payment.accountId, payment.amount.minorUnits, payment.amount.currency.code,
                                 payment.methodBrand, payment.methodLast4, payment.gateway, payment.gatewayTransactionId,
                                 payment.authorizationCode, now, now])
            // Recorded elsewhere, so nothing may be left over: the whole transaction rolls back instead.
            let remainder = try PaymentSettlement.allocate(paymentId: paymentId, accountId: payment.accountId, invoiceIds: payment.invoiceIds,
                                                           amount: payment.amount.minorUnits, now: now, db)
            guard remainder == 0 else { throw PaymentRecordError.amountExceedsBalance }
            return paymentId
        }
    }
}
