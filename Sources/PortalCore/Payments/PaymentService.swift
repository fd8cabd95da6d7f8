import Foundation
import GRDB
import Logging

/// Paying invoices once: checks what is asked, writes the payment before the gateway is called,
/// charges with the payment's id as the idempotency key, and records the outcome. A form posted
/// twice (double click, back button, second tab) finds the payment its key already made and is
/// shown that one; the gateway is never called for it again.
public struct PaymentService: Sendable {
    let db: any DatabaseWriter
    let gateway: (any PaymentGateway)?
    let methods: PaymentMethodService
    let settlement: PaymentSettlement
    let clock: PortalClock
    public let policy: PaymentPolicy
    let logger: Logger

    init(db: any DatabaseWriter, gateway: (any PaymentGateway)?, methods: PaymentMethodService, settlement: PaymentSettlement,
         clock: PortalClock, policy: PaymentPolicy, logger: Logger) {
        self.logger = logger
        self.db = db
        self.gateway = gateway
        self.methods = methods
        self.settlement = settlement
        self.clock = clock
        self.policy = policy
    }

    public var isConfigured: Bool { gateway != nil }

    /// What the payment form shows: the chosen invoices, what they owe together, the saved cards,
    /// and a fresh key that makes a repeat of this form the same payment.
    public struct Draft: Sendable {
        public var invoices: [InvoiceSummary]
        public var balance: Money
        public var minimum: Money
        public var methods: [PaymentMethod]
        public var requestKey: String
        public var allowOverpayment: Bool

        /// The amount the form's text asks for, read as `pay` will read it.
        public func amount(typed text: String) throws -> Money { try PaymentService.typedAmount(text, balance: balance) }
    }

    public func draft(_ scope: CustomerScope, invoiceIds: [String]) async throws -> Draft {
        let invoices = try await db.read { db in try Self.payableInvoices(scope, invoiceIds, today: CalendarDate(clock.now()), db) }
        let currency = invoices[0].balance.currency
        let balance = invoices.reduce(0) { $0 + $1.balance.minorUnits }
        return Draft(invoices: invoices, balance: Money(balance, currency), minimum: Money(min(policy.minimumPartial, balance), currency),
                     methods: scope.userId == nil ? [] : try await methods.list(scope), requestKey: SecretToken.generate(), allowOverpayment: policy.allowOverpayment)
    }

    public enum MethodChoice: Sendable, Equatable {
        case saved(String)
        /// A card typed into the hosted fields on the payment page; `keep` leaves it saved afterwards.
        case newCard(browserResult: [String: String], billingName: String, billingPostcode: String, keep: Bool)
    }

    /// How much to pay: an exact amount (the worker), or what a person typed into the form, read
    /// here against the invoices' currency ("" for their whole balance).
    public enum Amount: Sendable, Equatable {
        case exactly(Money)
        case typed(String)
    }

    public struct Submission: Sendable {
        public var requestKey: String
        public var invoiceIds: [String]
        public var amount: Amount
        public var method: MethodChoice
        public var source: PaymentSource
        public var actor: AuditEvent
        public var accountName: String
        public var email: String

        public init(requestKey: String, invoiceIds: [String], amount: Amount, method: MethodChoice, source: PaymentSource = .portal,
                    actor: AuditEvent, accountName: String, email: String) {
            self.requestKey = requestKey
            self.invoiceIds = invoiceIds
            self.amount = amount
            self.method = method
            self.source = source
            self.actor = actor
            self.accountName = accountName
            self.email = email
        }
    }

    /// Pays, or returns the payment this form's key already made. Bad input throws before anything
    /// is written.
    public func pay(_ scope: CustomerScope, _ submission: Submission) async throws -> Payment {
        guard let gateway else { throw PaymentError.notConfigured }
        guard SecretToken.isWellFormed(submission.requestKey) else { throw PaymentError.formExpired }
        if let existing = try await existing(scope, requestKey: submission.requestKey) { return existing }
        let invoices = try await db.read { db in try Self.payableInvoices(scope, submission.invoiceIds, today: CalendarDate(clock.now()), db) }
        let amount = try resolve(submission.amount, against: invoices)
        try checkAmount(amount, against: invoices)
        if case .saved(let id) = submission.method {
            guard let method = try await methods.list(scope).first(where: { $0.id == id }) else { throw PaymentError.methodNotFound }
            guard method.expiry != .expired else { throw PaymentError.methodExpired }
        }
        let savedMethodId: String? = if case .saved(let id) = submission.method { id } else { nil }
        let now = clock.nowSeconds()
        let reservation = try await db.write { db -> (id: String, isNew: Bool) in
            // The unique (account, key) index decides which of two racing posts makes the payment.
            if let id = try String.fetchOne(db, sql: "SELECT id FROM payments WHERE account_id = ? AND request_key = ?",
                                            arguments: [scope.accountId, submission.requestKey]) {
                return (id, false)
            }
            _ = try Self.payableInvoices(scope, submission.invoiceIds, today: CalendarDate(Date(timeIntervalSince1970: TimeInterval(now))), db)
            if case .paymentLink(let linkId, let invoiceId) = scope.holder {
                // In the transaction that reserves the payment: staff may have withdrawn the link (or it
                // expired) after the payer's page checked it, and a withdrawn link takes no payment.
                guard try Row.fetchOne(db, sql: PaymentLinkService.liveLinks(of: "?") + " AND l.id = ?", arguments: [invoiceId, now, linkId]) != nil
                else { throw PaymentError.linkNotUsable }
            }
            let id = OpaqueID.make("pay")
            try db.execute(sql: """
                INSERT INTO payments (id, account_id, amount, currency, status, gateway, request_key, source, payment_method_id,
                    method_brand, method_last4, initiated_by, payment_link_id, gateway_phase, created_at, updated_at)
                SELECT ?, ?, ?, ?, 'pending', ?, ?, ?, m.id, m.brand, m.last4, ?, ?, 'created', ?, ?
                FROM (SELECT 1) LEFT JOIN payment_methods m ON m.id = ? AND m.account_id = ?
                """, arguments: [id, scope.accountId, amount.minorUnits, amount.currency.code, gateway.name,
                                 submission.requestKey, submission.source.rawValue, scope.userId, scope.paymentLinkId, now, now,
                                 savedMethodId, scope.accountId])
            for invoiceId in Set(submission.invoiceIds) {
                try db.execute(sql: "INSERT INTO payment_requested_invoices (payment_id, invoice_id) VALUES (?, ?)", arguments: [id, invoiceId])
            }
            var event = submission.actor
            event.action = "payment.submit"
            event.accountId = scope.accountId
            event.details.merge(["payment": id, "amount": amount.plain, "currency": amount.currency.code,
                                 "source": submission.source.rawValue]) { _, new in new }
            try AuditService.insert(event, now: now, db)
            return (id, true)
        }
        if reservation.isNew {
            try await charge(paymentId: reservation.id, amount: amount, scope: scope, submission: submission)
        }
        return try await payment(scope, id: reservation.id)
    }

    /// One payment of the customer's current account; anything else is not found.
    public func payment(_ scope: CustomerScope, id: String) async throws -> Payment {
        try await db.read { db in
            try InvoiceService.requireMembership(scope, orLinkTo: nil, db)
            guard let payment = try PaymentRows.payment(db, id: id), payment.accountId == scope.accountId,
                  try Self.madeWithin(scope, paymentId: id, db) else { throw PaymentError.notFound }
            return payment
        }
    }

    /// Any payment, for the staff console (whose routes are behind staff sign-in and roles).
    public func paymentForStaff(id: String) async throws -> Payment {
        try await db.read { db in
            guard let payment = try PaymentRows.payment(db, id: id) else { throw PaymentError.notFound }
            return payment
        }
    }

    public struct HistoryPage: Sendable {
        public var payments: [Payment]
        public var page: Int
        public var hasMore: Bool
    }

    public func history(_ scope: CustomerScope, page: Int, perPage: Int = 25) async throws -> HistoryPage {
        let page = max(1, min(page, 10_000))
        guard scope.userId != nil else { throw PaymentError.notFound }
        return try await db.read { db in
            try InvoiceService.requireMembership(scope, db)
            let ids = try String.fetchAll(db, sql: """
                SELECT id FROM payments WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
                """, arguments: [scope.accountId, perPage + 1, (page - 1) * perPage])
            let payments = try ids.prefix(perPage).compactMap { try PaymentRows.payment(db, id: $0) }
            return HistoryPage(payments: payments, page: page, hasMore: ids.count > perPage)
        }
    }

    /// After the customer authenticated with their bank in the page, asks the gateway how the
    /// charge ended and records it.
    public func completeAuthentication(_ scope: CustomerScope, paymentId: String) async throws -> Payment {
        let current = try await payment(scope, id: paymentId)
        if current.status == .pending { try await reconcile(paymentId: paymentId) }
        await forgetUnkeptCardSoon(paymentId)
        return try await payment(scope, id: paymentId)
    }

    // MARK: Charging

    private func charge(paymentId: String, amount: Money, scope: CustomerScope, submission: Submission) async throws {
        guard let gateway else { throw PaymentError.notConfigured }
        let methodId: String
        switch submission.method {
        case .saved(let id):
            methodId = id
        case .newCard(let browserResult, let name, let postcode, let keep):
            do {
                methodId = try await methods.add(scope, accountName: submission.accountName, email: submission.email,
                                                 browserResult: browserResult, billingName: name, billingPostcode: postcode,
                                                 actor: submission.actor).id
            } catch let error as PaymentMethodError {
                let message = if case .gateway(let text) = error { text } else { "The card could not be saved." }
                try await record(paymentId, .failed(code: "card_not_saved", message: message, retryable: false))
                throw PaymentError.cardNotSaved(message)
            }
            try await db.write { db in
                try db.execute(sql: """
                    UPDATE payments SET payment_method_id = m.id, method_brand = m.brand, method_last4 = m.last4, forget_method = ?
                    FROM (SELECT id, brand, last4 FROM payment_methods WHERE id = ?) AS m WHERE payments.id = ?
                    """, arguments: [!keep, methodId, paymentId])
            }
        }
        // Plain strings out of the read: a `Row` isn't Sendable, and the synchronous read it would
        // select blocks a cooperative thread.
        let target = try await db.read { db -> (customer: String, method: String)? in
            try Row.fetchOne(db, sql: """
                SELECT m.gateway_method_id, c.customer_id FROM payment_methods m
                JOIN gateway_customers c ON c.account_id = m.account_id AND c.gateway = m.gateway
                WHERE m.id = ? AND m.account_id = ? AND m.removed_at IS NULL
                """, arguments: [methodId, scope.accountId]).map { ($0["customer_id"], $0["gateway_method_id"]) }
        }
        guard let target else {
            try await record(paymentId, .failed(code: "method_missing", message: "The card is no longer on file.", retryable: false))
            throw PaymentError.methodNotFound
        }
        let outcome: GatewayChargeOutcome
        do {
            outcome = try await gateway.charge(GatewayChargeRequest(
                customerId: target.customer, methodId: target.method, amount: amount,
                idempotencyKey: paymentId, metadata: ["payment": paymentId, "account": scope.accountId]))
        } catch PaymentGatewayError.rejected(let code, let message) {
            try await record(paymentId, .failed(code: code, message: message, retryable: false))
            await forgetUnkeptCardSoon(paymentId)
            return
        } catch {
            // Whether the charge happened is unknown: leave it pending for the reconciler.
            try await markAwaitingGateway(paymentId, clientSecret: nil, transactionId: nil)
            return
        }
        try await apply(outcome, to: paymentId)
        await forgetUnkeptCardSoon(paymentId)
    }

    /// Forgets this payment's unkept card now if its charge has ended. Failing here (the gateway
    /// can't be reached to detach it) doesn't fail the payment: the mark stays on the payment and
    /// the worker's `forgetUnkeptCards` tries again, logging what goes wrong.
    private func forgetUnkeptCardSoon(_ paymentId: String) async {
        do {
            try await forgetUnkeptCards(paymentId: paymentId)
        } catch {
            logger.warning("unkept card not removed yet; the worker will retry", metadata: ["payment": "\(paymentId)", "error": "\(error)"])
        }
    }

    /// Removes cards that were vaulted only for one payment, once that payment has its final
    /// answer (paid, declined, expired); 3-D Secure and unanswered charges keep theirs until then.
    @discardableResult
    public func forgetUnkeptCards(paymentId: String? = nil) async throws -> Int {
        let due = try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT p.id, p.account_id, p.initiated_by, p.payment_method_id, p.payment_link_id, l.invoice_id AS link_invoice FROM payments p
                LEFT JOIN payment_links l ON l.id = p.payment_link_id
                WHERE p.forget_method = 1 AND p.status <> 'pending' AND (? IS NULL OR p.id = ?)
                """, arguments: [paymentId, paymentId]).map { row -> (payment: String, account: String, scope: CustomerScope?, method: String?) in
                let account: String = row["account_id"]
                // A card typed through a payment link was vaulted under the link's scope (no user).
                let scope: CustomerScope? = if let user = row["initiated_by"] as String? {
                    CustomerScope(userId: user, accountId: account)
                } else if let link = row["payment_link_id"] as String?, let invoice = row["link_invoice"] as String? {
                    CustomerScope(paymentLink: link, invoiceId: invoice, accountId: account)
                } else { nil }
                return (row["id"], account, scope, row["payment_method_id"])
            }
        }
        for item in due {
            if let method = item.method, let scope = item.scope {
                let actor = AuditEvent(action: "", actorKind: .system, actorLabel: "payments", accountId: item.account,
                                       details: ["payment": item.payment, "why": "card not kept"])
                do {
                    try await methods.remove(scope, methodId: method, actor: actor, notify: false)
                } catch PaymentMethodError.notFound {
                    // Already gone (the customer removed it): nothing left to forget.
                } catch PaymentMethodError.neededForRecurring {
                    // The member has since chosen this card for autopay or a plan, and it is their only
                    // one: it is kept (their choice), and not asked about again.
                    logger.notice("unkept card kept: autopay or a plan now uses it", metadata: ["payment": "\(item.payment)"])
                }
            }
            try await db.write { db in
                try db.execute(sql: "UPDATE payments SET forget_method = 0 WHERE id = ?", arguments: [item.payment])
            }
        }
        return due.count
    }

    func apply(_ outcome: GatewayChargeOutcome, to paymentId: String) async throws {
        switch outcome {
        case .approved(let transactionId, let authorizationCode):
            try await record(paymentId, .succeeded(transactionId: transactionId, authorizationCode: authorizationCode))
        case .declined(let code, let message, let retryable):
            try await record(paymentId, .failed(code: code, message: message, retryable: retryable))
        case .requiresAction(let transactionId, let clientSecret):
            try await markAwaitingGateway(paymentId, clientSecret: clientSecret, transactionId: transactionId)
        case .unknown:
            try await markAwaitingGateway(paymentId, clientSecret: nil, transactionId: nil)
        }
    }

    func record(_ paymentId: String, _ outcome: PaymentSettlement.Outcome) async throws {
        let now = clock.nowSeconds()
        _ = try await db.write { db in try settlement.settle(paymentId: paymentId, outcome, now: now, db) }
    }

    private func markAwaitingGateway(_ paymentId: String, clientSecret: String?, transactionId: String?) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: """
                UPDATE payments SET gateway_phase = 'sent', action_client_secret = ?, gateway_transaction_id = coalesce(?, gateway_transaction_id),
                    updated_at = ? WHERE id = ? AND status = 'pending'
                """, arguments: [clientSecret, transactionId, now, paymentId])
        }
    }

    // MARK: Reconciliation

    /// Asks the gateway, by the payment's own idempotency key, how a charge without a final answer
    /// ended, and records it. A charge the gateway never saw is failed, so the customer may pay
    /// again; one it is still working on stays pending. Never charges.
    public func reconcile(paymentId: String) async throws {
        guard let gateway else { throw PaymentError.notConfigured }
        let found = try await gateway.findTransaction(idempotencyKey: paymentId)
        guard let found else {
            try await record(paymentId, .failed(code: "not_received", message: "The payment did not reach the card processor. Nothing was charged.",
                                                retryable: true))
            return
        }
        switch found.status {
        case .succeeded, .refunded, .partiallyRefunded:
            try await record(paymentId, .succeeded(transactionId: found.transactionId, authorizationCode: nil))
        case .declined, .voided:
            try await record(paymentId, .failed(code: found.declineCode ?? "card_declined", message: "The card was declined.",
                                                retryable: found.declineCode.map(Self.softDeclines.contains) ?? true))
        case .requiresAction:
            // A bank confirmation the customer walked away from: after a day the attempt is closed,
            // so the invoice can be paid again and the reconciler stops asking.
            let created = try await db.read { db in try Int64.fetchOne(db, sql: "SELECT created_at FROM payments WHERE id = ?", arguments: [paymentId]) }
            if let created, clock.nowSeconds() - created > Self.abandonedAuthenticationSeconds {
                try await record(paymentId, .failed(code: "authentication_required", message: "The bank's confirmation was not completed.",
                                                    retryable: true))
            }
        case .processing:
            break
        }
    }

    static let abandonedAuthenticationSeconds: Int64 = 86_400

    /// A payment for the invoice still waiting for its answer, if any (the oldest).
    static func pendingPayment(invoiceId: String, _ db: Database) throws -> String? {
        try String.fetchOne(db, sql: """
            SELECT p.id FROM payment_requested_invoices r JOIN payments p ON p.id = r.payment_id
            WHERE r.invoice_id = ? AND p.status = 'pending' ORDER BY p.created_at, p.id LIMIT 1
            """, arguments: [invoiceId])
    }

    /// Payments that have waited longer than the policy allows for a final answer.
    public func unsettled(olderThan seconds: Int64? = nil, limit: Int = 100) async throws -> [String] {
        let cutoff = clock.nowSeconds() - (seconds ?? policy.reconcileAfterSeconds)
        return try await db.read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM payments WHERE gateway_phase <> 'settled' AND status = 'pending' AND updated_at <= ?
                ORDER BY created_at LIMIT ?
                """, arguments: [cutoff, limit])
        }
    }

    /// Declines a later retry may turn into a success; anything else (stolen, closed, expired…) is final.
    static let softDeclines: Set<String> = ["card_declined", "insufficient_funds", "processing_error", "try_again_later", "do_not_honor",
                                            "not_received"]

    // MARK: Checks

    /// The payment a form's key already made, if any.
    public func existing(_ scope: CustomerScope, requestKey: String) async throws -> Payment? {
        try await db.read { db in
            try InvoiceService.requireMembership(scope, orLinkTo: nil, db)
            guard let id = try String.fetchOne(db, sql: "SELECT id FROM payments WHERE account_id = ? AND request_key = ?",
                                               arguments: [scope.accountId, requestKey]),
                  try Self.madeWithin(scope, paymentId: id, db) else { return nil }
            return try PaymentRows.payment(db, id: id)
        }
    }

    /// A link's holder sees only the payments made through that link; members see the account's.
    static func madeWithin(_ scope: CustomerScope, paymentId: String, _ db: Database) throws -> Bool {
        guard let link = scope.paymentLinkId else { return true }
        return try String.fetchOne(db, sql: "SELECT payment_link_id FROM payments WHERE id = ?", arguments: [paymentId]) == link
    }

    private func resolve(_ request: Amount, against invoices: [InvoiceSummary]) throws -> Money {
        switch request {
        case .exactly(let money): return money
        case .typed(let text):
            return try Self.typedAmount(text, balance: Money(invoices.reduce(0) { $0 + $1.balance.minorUnits }, invoices[0].balance.currency))
        }
    }

    /// What a person typed, in the balance's currency; nothing typed means the whole balance.
    static func typedAmount(_ text: String, balance: Money) throws -> Money {
        if text.trimmingCharacters(in: .whitespaces).isEmpty { return balance }
        guard let money = Money.parse(text, currency: balance.currency) else { throw PaymentError.invalidAmount }
        return money
    }

    private func checkAmount(_ amount: Money, against invoices: [InvoiceSummary]) throws {
        let currency = invoices[0].balance.currency
        guard amount.currency == currency, amount.minorUnits > 0 else { throw PaymentError.invalidAmount }
        let balance = invoices.reduce(0) { $0 + $1.balance.minorUnits }
        if amount.minorUnits > balance, !policy.allowOverpayment { throw PaymentError.aboveBalance(Money(balance, currency)) }
        let minimum = min(policy.minimumPartial, balance)
        if amount.minorUnits < minimum { throw PaymentError.belowMinimum(Money(minimum, currency)) }
    }

    /// The chosen invoices, each of the scope's account, open or partially paid, in one currency,
    /// and none with a payment still pending: its answer may yet pay it (a charge awaiting the
    /// gateway or the payer's bank), so a second one is refused until that answer is in. `pay`
    /// asks again inside the transaction that reserves the payment, so two at once can't both pass.
    static func payableInvoices(_ scope: CustomerScope, _ ids: [String], today: CalendarDate, _ db: Database) throws -> [InvoiceSummary] {
        try InvoiceService.requireMembership(scope, orLinkTo: nil, db)
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty, unique.count <= 100 else { throw PaymentError.noInvoices }
        if case .paymentLink(_, let linked) = scope.holder, unique != [linked] { throw PaymentError.notFound }
        var invoices: [InvoiceSummary] = []
        for id in unique {
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, account_id, number, issue_date, due_date, currency, total, balance, status FROM invoices
                WHERE id = ? AND account_id = ? AND status != 'draft'
                """, arguments: [id, scope.accountId]) else { throw PaymentError.notFound }
            let invoice = InvoiceService.summary(row, today: today)
            guard invoice.status == .open || invoice.status == .partiallyPaid, invoice.balance.minorUnits > 0 else {
                throw PaymentError.invoiceNotPayable(invoice.number)
            }
            if let pending = try pendingPayment(invoiceId: id, db) { throw PaymentError.paymentInProgress(invoice.number, paymentId: pending) }
            invoices.append(invoice)
        }
        guard Set(invoices.map(\.balance.currency)).count == 1 else { throw PaymentError.mixedCurrencies }
        return invoices.sorted { ($0.dueDate, $0.id) < ($1.dueDate, $1.id) }
    }
}
