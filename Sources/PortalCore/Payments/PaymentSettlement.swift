import GRDB

/// Records a charge's final outcome: the payment, its allocations, the invoices' balances and
/// statuses, an audit event and the customer's email, all in one transaction. Every path that
/// learns an outcome (the paying request, the reconciler, webhooks, the worker) comes through here,
/// and settling an already settled payment changes nothing, so two of them racing is harmless.
struct PaymentSettlement: Sendable {
    let outbox: MailOutbox
    let links: LinkBuilder

    enum Outcome: Sendable {
        case succeeded(transactionId: String, authorizationCode: String?)
        case failed(code: String, message: String, retryable: Bool)
    }

    /// Returns true when this call settled the payment, false when it was already settled.
    @discardableResult
    func settle(paymentId: String, _ outcome: Outcome, now: Int64, _ db: Database) throws -> Bool {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT p.*, u.email AS initiator_email FROM payments p LEFT JOIN customer_users u ON u.id = p.initiated_by
            WHERE p.id = ?
            """, arguments: [paymentId]),
              row["status"] as String == PaymentStatus.pending.rawValue else { return false }
        let accountId: String = row["account_id"]
        let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        var event = AuditEvent(action: "", actorKind: .system, actorLabel: "payments", accountId: accountId,
                               details: ["payment": paymentId, "amount": Money(row["amount"], currency).plain, "currency": currency.code])
        switch outcome {
        case .succeeded(let transactionId, let authorizationCode):
            let amount: Int64 = row["amount"]
            let invoiceIds = try String.fetchAll(db, sql: "SELECT invoice_id FROM payment_requested_invoices WHERE payment_id = ?", arguments: [paymentId])
            let remainder = try Self.allocate(paymentId: paymentId, accountId: accountId, invoiceIds: invoiceIds, amount: amount, now: now, db)
            try db.execute(sql: """
                UPDATE payments SET status = 'succeeded', gateway_phase = 'settled', gateway_transaction_id = ?, authorization_code = ?,
                    action_client_secret = NULL, unapplied_amount = ?, settled_at = ?, updated_at = ? WHERE id = ?
                """, arguments: [transactionId, authorizationCode, remainder, now, now, paymentId])
            event.action = "payment.succeeded"
            event.details["transaction"] = transactionId
            if let email = row["initiator_email"] as String? {
                let message = try outbox.render(template: "payment_receipt", to: email, context: [
                    "amount": Money(amount, currency).formatted, "account": try String.fetchOne(db, sql: "SELECT name FROM accounts WHERE id = ?", arguments: [accountId]) ?? "",
                    "card": Self.cardLabel(row) ?? "", "reference": paymentId, "receiptURL": links.absolute(SitePath.payment(paymentId)),
                    "invoices": try String.fetchAll(db, sql: """
                        SELECT i.number FROM payment_allocations pa JOIN invoices i ON i.id = pa.invoice_id WHERE pa.payment_id = ? ORDER BY i.due_date
                        """, arguments: [paymentId]).joined(separator: ", "),
                ])
                try MailOutbox.insert(message, now: now, db)
            }
        case .failed(let code, let message, let retryable):
            try db.execute(sql: """
                UPDATE payments SET status = 'failed', gateway_phase = 'settled', error_code = ?, error_message = ?, decline_retryable = ?,
                    action_client_secret = NULL, settled_at = ?, updated_at = ? WHERE id = ?
                """, arguments: [code, String(message.prefix(500)), retryable, now, now, paymentId])
            event.action = "payment.failed"
            event.outcome = .failure
            event.details["code"] = code
        }
        try AuditService.insert(event, now: now, db)
        // In this transaction, so the CRM hears of every result the portal records, and of none it doesn't.
        try CRMOutbox.enqueuePaymentResult(paymentId: paymentId, now: now, db)
        return true
    }

    /// Applies `amount` to the invoices oldest due first against their balances now; what is left
    /// (an invoice paid meanwhile, or an allowed overpayment) is returned to be kept as credit.
    static func allocate(paymentId: String, accountId: String, invoiceIds: [String], amount: Int64, now: Int64, _ db: Database) throws -> Int64 {
        var open: [PaymentAllocator.Open] = []
        for id in invoiceIds {
            guard let invoice = try Row.fetchOne(db, sql: """
                SELECT due_date, balance FROM invoices WHERE id = ? AND account_id = ? AND status IN ('open', 'partially_paid')
                """, arguments: [id, accountId]) else { continue }
            open.append(.init(invoiceId: id, dueDate: CalendarDate(iso: invoice["due_date"]) ?? CalendarDate(iso: "1970-01-01")!,
                              balance: invoice["balance"]))
        }
        let (allocations, remainder) = PaymentAllocator.allocate(amount, across: open)
        for allocation in allocations {
            try db.execute(sql: "INSERT INTO payment_allocations (payment_id, invoice_id, amount) VALUES (?, ?, ?)",
                           arguments: [paymentId, allocation.invoiceId, allocation.amount])
            try db.execute(sql: """
                UPDATE invoices SET amount_paid = amount_paid + ?, balance = balance - ?,
                    status = CASE WHEN balance - ? <= 0 THEN 'paid' ELSE 'partially_paid' END, updated_at = ?
                WHERE id = ?
                """, arguments: [allocation.amount, allocation.amount, allocation.amount, now, allocation.invoiceId])
        }
        return remainder
    }

    static func cardLabel(_ row: Row) -> String? {
        guard let brand = row["method_brand"] as String?, let last4 = row["method_last4"] as String? else { return nil }
        return "\(PaymentMethod.brandName(brand)) •••• \(last4)"
    }
}
