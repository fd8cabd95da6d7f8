import GRDB

/// Keeps the CRM's record of what was paid on an invoice beside the portal's, so neither side's
/// payments erase the other's. Finance may record a bank transfer straight in Creatio
/// (Invoice.PaymentAmount goes up); the portal records card payments and refunds. The portal keeps
/// PaymentAmount as last seen or pushed (`invoices.crm_amount_paid`) and its own `amount_paid` at
/// that moment (`crm_portal_amount_paid`):
/// - a PaymentAmount above the one last seen is a payment made in the CRM: the difference is
///   recorded here as an `external` payment (allocated, audited, settling balance and status);
/// - one below it is never applied silently: the caller files it for staff, the portal's figures stand;
/// - the push sends the CRM's figure moved by what the portal recorded since (`InvoicePushFigures.crmTarget`).
public struct CRMPaymentFigures: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock

    public init(db: any DatabaseWriter, clock: PortalClock) {
        self.db = db
        self.clock = clock
    }

    public enum Observation: Sendable, Equatable {
        /// The CRM shows what the portal last saw or pushed.
        case unchanged
        /// The first look at this invoice's CRM figure: kept as the starting point.
        case baseline
        /// More was paid in the CRM: recorded as this external payment.
        case recorded(paymentId: String, amount: Money)
        /// Less is paid in the CRM than the portal last saw or pushed; nothing was changed.
        case decreased(seen: Money, crm: Money)
        /// The portal has no invoice with this CRM id.
        case unknownInvoice

        /// The words for staff when the CRM's figure went down.
        public var problem: String? {
            guard case .decreased(let seen, let crm) = self else { return nil }
            return "Creatio's PaymentAmount fell from \(seen.plain) to \(crm.plain). The portal keeps its own figures and does not push "
                + "this invoice's amount paid until Creatio shows \(seen.plain) again: correct it in Creatio, or record the reversal in the portal."
        }
    }

    /// Compares the CRM's PaymentAmount (minor units of the invoice's currency) with the one last
    /// seen or pushed, and records an increase as a payment; `crmInvoiceId` is Creatio's Invoice.Id.
    /// A page of invoices in one transaction, keyed by CRM id (a pull writes a page at once, a push a claim).
    public func observe(_ figures: [(crmInvoiceId: String, crmAmount: Int64)]) async throws -> [String: Result<Observation, any Error>] {
        guard !figures.isEmpty else { return [:] }
        let now = clock.nowSeconds()
        return try await db.write { db in
            var observations: [String: Result<Observation, any Error>] = [:]
            for (crmInvoiceId, crmAmount) in figures {
                // Exact match: the CRM id is stored as Creatio sends it, and the unique index serves only this form.
                guard let invoiceId = try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM invoices WHERE external_id = ?"),
                                                          arguments: [crmInvoiceId]) else {
                    observations[crmInvoiceId] = .success(.unknownInvoice)
                    continue
                }
                // Each invoice in its own savepoint: one that cannot be recorded fails alone, and the
                // rest of the page (and the pull's cursor) go on.
                do {
                    var observation = Observation.unchanged
                    try db.inSavepoint {
                        observation = try Self.observe(invoiceId: invoiceId, crmAmount: crmAmount, now: now, db)
                        return .commit
                    }
                    observations[crmInvoiceId] = .success(observation)
                } catch {
                    observations[crmInvoiceId] = .failure(error)
                }
            }
            return observations
        }
    }

    static func observe(invoiceId: String, crmAmount: Int64, now: Int64, _ db: Database) throws -> Observation {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT account_id, number, currency, crm_amount_paid FROM invoices WHERE id = ?
            """, arguments: [invoiceId]) else { return .unknownInvoice }
        let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        guard let seen = row["crm_amount_paid"] as Int64? else {
            // Nothing to compare with: whatever the CRM shows is where counting starts, and the
            // portal's own figure is what the push sends (as before these figures were kept).
            try db.execute(sql: "UPDATE invoices SET crm_amount_paid = ?, crm_portal_amount_paid = ? WHERE id = ?",
                           arguments: [crmAmount, crmAmount, invoiceId])
            return .baseline
        }
        if crmAmount == seen { return .unchanged }
        if crmAmount < seen { return .decreased(seen: Money(seen, currency), crm: Money(crmAmount, currency)) }
        let amount = Money(crmAmount - seen, currency)
        let accountId: String = row["account_id"]
        let paymentId = OpaqueID.make("pay")
        try db.execute(sql: """
            INSERT INTO payments (id, account_id, amount, currency, status, source, created_at, settled_at)
            VALUES (?, ?, ?, ?, 'succeeded', 'external', ?, ?)
            """, arguments: [paymentId, accountId, amount.minorUnits, currency.code, now, now])
        try db.execute(sql: "INSERT INTO payment_requested_invoices (payment_id, invoice_id) VALUES (?, ?)", arguments: [paymentId, invoiceId])
        // More than the balance (the portal was paid too before the CRM's payment reached it) is
        // kept as the account's credit, as an overpayment here would be: the money was received.
        let remainder = try PaymentSettlement.allocate(paymentId: paymentId, accountId: accountId, invoiceIds: [invoiceId],
                                                       amount: amount.minorUnits, now: now, db)
        try db.execute(sql: "UPDATE payments SET unapplied_amount = ? WHERE id = ?", arguments: [remainder, paymentId])
        // The CRM already counts this payment: the part the portal applied is not news to push back.
        try db.execute(sql: """
            UPDATE invoices SET crm_amount_paid = ?, crm_portal_amount_paid = coalesce(crm_portal_amount_paid, 0) + ? WHERE id = ?
            """, arguments: [crmAmount, amount.minorUnits - remainder, invoiceId])
        try AuditService.insert(AuditEvent(
            action: "payment.external", actorKind: .system, actorLabel: "CRM sync", accountId: accountId,
            details: ["payment": paymentId, "invoice": invoiceId, "number": row["number"], "amount": amount.plain, "currency": currency.code,
                      "crm_amount_paid": Money(crmAmount, currency).plain, "unapplied": Money(remainder, currency).plain]), now: now, db)
        return .recorded(paymentId: paymentId, amount: amount)
    }

    /// The invoices' figures as they are now, for a push about to be sent, keyed by invoice id.
    public func current(invoiceIds: [String]) async throws -> [String: InvoicePushFigures] {
        guard !invoiceIds.isEmpty else { return [:] }
        return try await db.read { db in
            var figures: [String: InvoicePushFigures] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT id, currency, amount_paid, status, crm_amount_paid, crm_portal_amount_paid FROM invoices
                WHERE id IN (\(invoiceIds.map { _ in "?" }.joined(separator: ",")))
                """, arguments: StatementArguments(invoiceIds)) {
                let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
                figures[row["id"]] = InvoicePushFigures(
                    invoiceId: row["id"], amountPaid: Money(row["amount_paid"], currency),
                    status: InvoiceStatus(rawValue: row["status"]) ?? .open, crmAmountPaid: row["crm_amount_paid"],
                    crmPortalAmountPaid: row["crm_portal_amount_paid"])
            }
            return figures
        }
    }

    /// After a push of PaymentAmount: the CRM now shows `pushed`, made from the portal's `portalAmountPaid`,
    /// so its echo on the next pull is no difference.
    static func pushed(_ figures: InvoicePushFigures, _ db: Database) throws {
        try db.execute(sql: "UPDATE invoices SET crm_amount_paid = ?, crm_portal_amount_paid = ? WHERE id = ?",
                       arguments: [figures.crmTarget.minorUnits, figures.amountPaid.minorUnits, figures.invoiceId])
    }
}

/// An invoice's payment figures for a push.
public struct InvoicePushFigures: Sendable, Equatable {
    public var invoiceId: String
    public var amountPaid: Money
    public var status: InvoiceStatus
    public var crmAmountPaid: Int64?
    public var crmPortalAmountPaid: Int64?

    /// What Creatio's PaymentAmount should be: its own figure moved by what the portal recorded
    /// since (payments add, refunds take away), or the portal's figure before any was seen.
    public var crmTarget: Money {
        guard let crm = crmAmountPaid, let portal = crmPortalAmountPaid else { return amountPaid }
        return Money(crm + amountPaid.minorUnits - portal, amountPaid.currency)
    }
}
