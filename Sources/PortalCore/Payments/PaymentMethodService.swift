import GRDB

public struct PaymentMethod: Sendable, Equatable {
    public enum Expiry: Sendable, Equatable { case valid, expiresSoon, expired }

    public var id: String
    public var brand: String
    public var last4: String
    public var expMonth: Int
    public var expYear: Int
    public var isDefault: Bool
    public var billingName: String
    public var expiry: Expiry

    /// "Visa •••• 4242".
    public var label: String { "\(Self.brandName(brand)) •••• \(last4)" }

    public static func brandName(_ brand: String) -> String {
        switch brand {
        case "visa": "Visa"
        case "mastercard": "Mastercard"
        case "amex": "American Express"
        case "discover": "Discover"
        default: brand.capitalized
        }
    }

    /// Cards are valid through the end of their expiry month; "soon" is within the next two months.
    static func expiry(month: Int, year: Int, today: CalendarDate) -> Expiry {
        let parts = today.iso.split(separator: "-").compactMap { Int($0) }
        let nowIndex = parts[0] * 12 + parts[1]
        let cardIndex = year * 12 + month
        if cardIndex < nowIndex { return .expired }
        if cardIndex - nowIndex <= 1 { return .expiresSoon }
        return .valid
    }
}

public enum PaymentMethodError: Error, Equatable, Sendable {
    case notConfigured
    case notFound
    /// The card is the only one on file and autopay or a payment plan charges it.
    case neededForRecurring
    case gateway(String)
}

/// An account's saved cards. Cards are saved through the gateway's hosted fields; here only the
/// gateway's token and display details are kept. Every lookup is scoped to the customer's account.
public struct PaymentMethodService: Sendable {
    let db: any DatabaseWriter
    let gateway: (any PaymentGateway)?
    let audit: AuditService
    let outbox: MailOutbox
    let clock: PortalClock
    /// Who hears about removed cards (the business's billing inbox), if configured.
    let billingAddress: String?

    public init(db: any DatabaseWriter, gateway: (any PaymentGateway)?, audit: AuditService, outbox: MailOutbox, clock: PortalClock,
                billingAddress: String?) {
        self.db = db
        self.gateway = gateway
        self.audit = audit
        self.outbox = outbox
        self.clock = clock
        self.billingAddress = billingAddress
    }

    public var isConfigured: Bool { gateway != nil }

    /// The account's saved cards (for members only: saved cards need a full sign-in). A card typed
    /// through a payment link is the link payer's, kept only until that payment ends, so never one of them.
    public func list(_ scope: CustomerScope) async throws -> [PaymentMethod] {
        let today = CalendarDate(clock.now())
        return try await db.read { db in
            try InvoiceService.requireMembership(scope, db)
            return try Row.fetchAll(db, sql: """
                SELECT * FROM payment_methods WHERE account_id = ? AND removed_at IS NULL AND payment_link_id IS NULL
                ORDER BY is_default DESC, created_at DESC, id
                """, arguments: [scope.accountId]).map { Self.method($0, today: today) }
        }
    }

    /// What the page needs to show the gateway's card fields for this account.
    public func hostedFields(_ scope: CustomerScope, accountName: String, email: String) async throws -> HostedFieldsConfiguration {
        guard let gateway else { throw PaymentMethodError.notConfigured }
        let customer = try await gatewayCustomer(scope, gateway: gateway, accountName: accountName, email: email)
        return try await gateway.hostedFields(customerId: customer)
    }

    /// Saves what the hosted fields returned. The first card becomes the default.
    @discardableResult
    public func add(_ scope: CustomerScope, accountName: String, email: String, browserResult: [String: String], billingName: String,
                    billingPostcode: String, actor: AuditEvent) async throws -> PaymentMethod {
        guard let gateway else { throw PaymentMethodError.notConfigured }
        let customer = try await gatewayCustomer(scope, gateway: gateway, accountName: accountName, email: email)
        let saved: SavedMethodDetails
        do {
            saved = try await gateway.completeSavedMethod(customerId: customer, browserResult: browserResult)
        } catch PaymentGatewayError.rejected(_, let message) {
            throw PaymentMethodError.gateway(message)
        }
        let now = clock.nowSeconds()
        let id = OpaqueID.make("pm")
        let gatewayName = gateway.name
        // A card typed through a payment link is for that payment only: marked with the link, so it
        // is never the default nor shown to or used by the account's members.
        try await db.write { db in
            try InvoiceService.requireMembership(scope, orLinkTo: nil, db)
            let hasDefault = try Bool.fetchOne(db, sql: """
                SELECT 1 FROM payment_methods WHERE account_id = ? AND is_default = 1 AND removed_at IS NULL
                """, arguments: [scope.accountId]) ?? false
            try db.execute(sql: """
                INSERT INTO payment_methods (id, account_id, gateway, gateway_method_id, brand, last4, exp_month, exp_year, fingerprint,
                    billing_name, billing_postcode, is_default, created_by, created_at, payment_link_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, scope.accountId, gatewayName, saved.gatewayMethodId, saved.brand, saved.last4, saved.expMonth,
                                 saved.expYear, saved.fingerprint, String(billingName.prefix(200)), String(billingPostcode.prefix(20)),
                                 !hasDefault && scope.userId != nil, scope.userId, now, scope.paymentLinkId])
            var event = actor
            event.action = "payment_method.add"
            event.accountId = scope.accountId
            event.details["method"] = id
            event.details["card"] = "\(saved.brand) \(saved.last4)"
            try AuditService.insert(event, now: now, db)
        }
        let today = CalendarDate(clock.now())
        // Read by id, not through `list`, which shows a link's holder no cards.
        guard let method = try await db.read({ db in
            try Row.fetchOne(db, sql: "SELECT * FROM payment_methods WHERE id = ?", arguments: [id]).map { Self.method($0, today: today) }
        }) else { throw PaymentMethodError.notFound }
        return method
    }

    public func setDefault(_ scope: CustomerScope, methodId: String, actor: AuditEvent) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try InvoiceService.requireMembership(scope, db)
            guard try Bool.fetchOne(db, sql: """
                SELECT 1 FROM payment_methods WHERE id = ? AND account_id = ? AND removed_at IS NULL AND payment_link_id IS NULL
                """,
                                    arguments: [methodId, scope.accountId]) == true else { throw PaymentMethodError.notFound }
            try db.execute(sql: "UPDATE payment_methods SET is_default = 0 WHERE account_id = ? AND is_default = 1", arguments: [scope.accountId])
            try db.execute(sql: "UPDATE payment_methods SET is_default = 1 WHERE id = ?", arguments: [methodId])
            var event = actor
            event.action = "payment_method.set_default"
            event.accountId = scope.accountId
            event.details["method"] = methodId
            try AuditService.insert(event, now: now, db)
        }
    }

    /// Removes a card here and at the gateway; another card becomes the default if this one was.
    /// `notify` is off when the card was only vaulted to make one payment. A payment link's holder
    /// reaches only the cards typed through that link; members never reach those.
    public func remove(_ scope: CustomerScope, methodId: String, actor: AuditEvent, notify: Bool = true) async throws {
        guard let gateway else { throw PaymentMethodError.notConfigured }
        struct Target: Sendable {
            var gatewayMethodId: String
            var customerId: String?
            var accountName: String
            var label: String
            var wasDefault: Bool
        }
        let target: Target? = try await db.read { db in
            try InvoiceService.requireMembership(scope, orLinkTo: nil, db)
            return try Row.fetchOne(db, sql: """
                SELECT m.*, c.customer_id, a.name AS account_name FROM payment_methods m
                JOIN accounts a ON a.id = m.account_id
                LEFT JOIN gateway_customers c ON c.account_id = m.account_id AND c.gateway = m.gateway
                WHERE m.id = ? AND m.account_id = ? AND m.removed_at IS NULL AND m.payment_link_id IS ?
                """, arguments: [methodId, scope.accountId, scope.paymentLinkId]).map { row in
                Target(gatewayMethodId: row["gateway_method_id"], customerId: row["customer_id"], accountName: row["account_name"],
                       label: "\(PaymentMethod.brandName(row["brand"])) •••• \(row["last4"] as String)", wasDefault: row["is_default"])
            }
        }
        guard let target else { throw PaymentMethodError.notFound }
        let replacement = try await recurringReplacement(scope, removing: methodId)
        if let customer = target.customerId {
            do {
                try await gateway.detachMethod(customerId: customer, methodId: target.gatewayMethodId)
            } catch PaymentGatewayError.rejected(_, let message) {
                throw PaymentMethodError.gateway(message)
            }
        }
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: "UPDATE payment_methods SET removed_at = ?, is_default = 0 WHERE id = ?", arguments: [now, methodId])
            if target.wasDefault {
                try db.execute(sql: """
                    UPDATE payment_methods SET is_default = 1 WHERE id = (
                        SELECT id FROM payment_methods WHERE account_id = ? AND removed_at IS NULL AND payment_link_id IS NULL
                        ORDER BY created_at DESC, id LIMIT 1)
                    """, arguments: [scope.accountId])
            }
            if let replacement {
                // Autopay and plans move to the card that remains, so nothing stops paying.
                try db.execute(sql: "UPDATE autopay_enrollments SET payment_method_id = ?, updated_at = ? WHERE payment_method_id = ? AND status <> 'cancelled'",
                               arguments: [replacement, now, methodId])
                try db.execute(sql: "UPDATE payment_plans SET payment_method_id = ?, updated_at = ? WHERE payment_method_id = ? AND status IN ('active', 'paused')",
                               arguments: [replacement, now, methodId])
            }
            var event = actor
            event.action = "payment_method.remove"
            event.accountId = scope.accountId
            event.details["method"] = methodId
            event.details["card"] = target.label
            try AuditService.insert(event, now: now, db)
        }
        if notify, let billingAddress {
            try await outbox.enqueue(template: "payment_method_removed", to: billingAddress, context: [
                "account": target.accountName, "card": target.label, "by": actor.actorLabel,
            ])
        }
    }

    /// When autopay or a plan charges the card being removed: the card they move to, or a refusal
    /// when it is the only one.
    private func recurringReplacement(_ scope: CustomerScope, removing methodId: String) async throws -> String? {
        try await db.read { db in
            let inUse = try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM autopay_enrollments WHERE payment_method_id = ? AND status = 'active')
                    OR EXISTS (SELECT 1 FROM payment_plans WHERE payment_method_id = ? AND status = 'active')
                """, arguments: [methodId, methodId]) ?? false
            guard inUse else { return nil }
            guard let other = try String.fetchOne(db, sql: """
                SELECT id FROM payment_methods WHERE account_id = ? AND id <> ? AND removed_at IS NULL AND payment_link_id IS NULL
                ORDER BY is_default DESC, created_at DESC LIMIT 1
                """, arguments: [scope.accountId, methodId]) else { throw PaymentMethodError.neededForRecurring }
            return other
        }
    }

    private func gatewayCustomer(_ scope: CustomerScope, gateway: any PaymentGateway, accountName: String, email: String) async throws -> String {
        let gatewayName = gateway.name
        let existing: String? = try await db.read { db in
            try InvoiceService.requireMembership(scope, orLinkTo: nil, db)
            return try String.fetchOne(db, sql: "SELECT customer_id FROM gateway_customers WHERE account_id = ? AND gateway = ?",
                                       arguments: [scope.accountId, gatewayName])
        }
        // A stored customer is trusted: checking it at the gateway on every page view would put a
        // network round trip on the payment-methods page.
        if let existing { return existing }
        let created = try await gateway.ensureCustomer(existingId: nil, accountId: scope.accountId, email: email, name: accountName)
        let now = clock.nowSeconds()
        // Two first visits at once may each create a customer: the first stored wins, so every card
        // lands on the same one.
        return try await db.write { db in
            try db.execute(sql: """
                INSERT INTO gateway_customers (account_id, gateway, customer_id, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(account_id, gateway) DO NOTHING
                """, arguments: [scope.accountId, gatewayName, created, now])
            return try String.fetchOne(db, sql: "SELECT customer_id FROM gateway_customers WHERE account_id = ? AND gateway = ?",
                                       arguments: [scope.accountId, gatewayName]) ?? created
        }
    }

    /// "Visa •••• 4242" for a current, unexpired card of the account (never one typed through a
    /// payment link); otherwise the reason it can't be used.
    static func usableMethodLabel(accountId: String, methodId: String, today: CalendarDate, _ db: Database) throws -> String {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT * FROM payment_methods WHERE id = ? AND account_id = ? AND removed_at IS NULL AND payment_link_id IS NULL
            """, arguments: [methodId, accountId]) else { throw RecurringError.methodNotFound }
        let method = method(row, today: today)
        guard method.expiry != .expired else { throw RecurringError.methodExpired }
        return method.label
    }

    static func method(_ row: Row, today: CalendarDate) -> PaymentMethod {
        PaymentMethod(id: row["id"], brand: row["brand"], last4: row["last4"], expMonth: row["exp_month"], expYear: row["exp_year"],
                      isDefault: row["is_default"], billingName: row["billing_name"],
                      expiry: PaymentMethod.expiry(month: row["exp_month"], year: row["exp_year"], today: today))
    }
}
