import GRDB

/// Payment plans: a fixed amount, weekly or monthly, on a saved card, until the account's open
/// balance in that currency is paid or the end date passes. Each instalment goes to the oldest
/// due invoices first, and is never more than what is still owed.
public struct PaymentPlanService: Sendable {
    let db: any DatabaseWriter
    let outbox: MailOutbox
    let clock: PortalClock
    let policy: PaymentPolicy

    init(db: any DatabaseWriter, outbox: MailOutbox, clock: PortalClock, policy: PaymentPolicy) {
        self.db = db
        self.outbox = outbox
        self.clock = clock
        self.policy = policy
    }

    public struct Request: Sendable {
        public var methodId: String
        public var amount: Money
        public var frequency: PlanFrequency
        public var startDate: CalendarDate
        public var endDate: CalendarDate?
        public var consentGiven: Bool

        public init(methodId: String, amount: Money, frequency: PlanFrequency, startDate: CalendarDate, endDate: CalendarDate?, consentGiven: Bool) {
            self.methodId = methodId
            self.amount = amount
            self.frequency = frequency
            self.startDate = startDate
            self.endDate = endDate
            self.consentGiven = consentGiven
        }
    }

    public func list(_ scope: CustomerScope) async throws -> [PaymentPlan] {
        try await db.read { db in
            try InvoiceService.requireMembership(scope, db)
            return try Row.fetchAll(db, sql: """
                SELECT p.*, m.brand, m.last4 FROM payment_plans p JOIN payment_methods m ON m.id = p.payment_method_id
                WHERE p.account_id = ? ORDER BY p.status = 'active' DESC, p.created_at DESC LIMIT 20
                """, arguments: [scope.accountId]).map(Self.plan)
        }
    }

    @discardableResult
    public func create(_ scope: CustomerScope, _ request: Request, accountName: String, email: String, client: ClientInfo,
                       actor: AuditEvent) async throws -> PaymentPlan {
        guard request.consentGiven else { throw RecurringError.consentRequired }
        let today = CalendarDate(clock.now())
        guard request.startDate >= today, request.startDate <= today.adding(days: 366),
              request.endDate.map({ $0 > request.startDate }) ?? true else { throw RecurringError.invalidDates }
        let now = clock.nowSeconds()
        let policy = self.policy
        return try await db.write { db in
            try InvoiceService.requireMembership(scope, db)
            let card = try PaymentMethodService.usableMethodLabel(accountId: scope.accountId, methodId: request.methodId, today: today, db)
            let balance = try Self.openBalance(accountId: scope.accountId, currency: request.amount.currency, db)
            guard balance > 0 else { throw RecurringError.nothingOwed }
            guard request.amount.minorUnits > 0 else { throw RecurringError.invalidAmount }
            let minimum = min(policy.minimumPartial, balance)
            guard request.amount.minorUnits >= minimum else { throw RecurringError.belowMinimum(Money(minimum, request.amount.currency)) }
            guard request.amount.minorUnits <= balance else { throw RecurringError.aboveBalance(Money(balance, request.amount.currency)) }
            let text = RecurringConsent.plan(account: accountName, card: card, amount: request.amount, frequency: request.frequency,
                                             start: request.startDate, end: request.endDate)
            let id = OpaqueID.make("plan")
            try db.execute(sql: """
                INSERT INTO payment_plans (id, account_id, payment_method_id, amount, currency, frequency, start_date, end_date, status,
                    consent_version, consent_text, consented_by, consented_at, consent_address, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, scope.accountId, request.methodId, request.amount.minorUnits, request.amount.currency.code,
                                 request.frequency.rawValue, request.startDate.iso, request.endDate?.iso, RecurringConsent.planVersion, text,
                                 scope.userId, now, client.address, now, now])
            var event = actor
            event.action = "plan.create"
            event.accountId = scope.accountId
            event.details = ["plan": id, "amount": request.amount.plain, "currency": request.amount.currency.code,
                             "frequency": request.frequency.rawValue, "card": card, "consent_version": RecurringConsent.planVersion]
            try AuditService.insert(event, now: now, db)
            try MailOutbox.insert(try outbox.render(template: "plan_changed", to: email, context: [
                "account": accountName, "change": "set up", "consent": text, "active": true,
            ]), now: now, db)
            return try Self.plan(try Row.fetchOne(db, sql: """
                SELECT p.*, m.brand, m.last4 FROM payment_plans p JOIN payment_methods m ON m.id = p.payment_method_id WHERE p.id = ?
                """, arguments: [id])!)
        }
    }

    public func cancel(_ scope: CustomerScope, planId: String, accountName: String, email: String, actor: AuditEvent) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try InvoiceService.requireMembership(scope, db)
            guard let status = try String.fetchOne(db, sql: "SELECT status FROM payment_plans WHERE id = ? AND account_id = ?",
                                                   arguments: [planId, scope.accountId]) else { throw RecurringError.notFound }
            guard status == "active" || status == "paused" else { throw RecurringError.notActive }
            try db.execute(sql: "UPDATE payment_plans SET status = 'cancelled', updated_at = ? WHERE id = ?", arguments: [now, planId])
            try db.execute(sql: """
                UPDATE scheduled_charges SET state = 'skipped', last_error = 'plan cancelled', updated_at = ?
                WHERE source = 'plan' AND source_id = ? AND state = 'scheduled'
                """, arguments: [now, planId])
            var event = actor
            event.action = "plan.cancel"
            event.accountId = scope.accountId
            event.details = ["plan": planId]
            try AuditService.insert(event, now: now, db)
            try MailOutbox.insert(try outbox.render(template: "plan_changed", to: email, context: [
                "account": accountName, "change": "cancelled",
            ]), now: now, db)
        }
    }

    /// The plan's coming instalments against what is owed now: each the plan's amount, the last
    /// one what is left, none after the end date.
    public func schedule(_ scope: CustomerScope, plan: PaymentPlan, limit: Int = 12) async throws -> [UpcomingCharge] {
        let today = CalendarDate(clock.now())
        let (balance, done) = try await db.read { db -> (Int64, Set<String>) in
            try InvoiceService.requireMembership(scope, db)
            let balance = try Self.openBalance(accountId: scope.accountId, currency: plan.amount.currency, db)
            let done = Set(try String.fetchAll(db, sql: """
                SELECT period_key FROM scheduled_charges WHERE source = 'plan' AND source_id = ? AND state IN ('succeeded', 'running', 'awaiting')
                """, arguments: [plan.id]))
            return (balance, done)
        }
        guard plan.status == .active else { return [] }
        return Self.instalments(plan: plan, balance: balance, from: today, skipping: done, limit: limit)
    }

    static func instalments(plan: PaymentPlan, balance: Int64, from today: CalendarDate, skipping done: Set<String>, limit: Int) -> [UpcomingCharge] {
        var left = balance
        var charges: [UpcomingCharge] = []
        var n = 0
        while left > 0, charges.count < limit, n < 1_000 {
            let date = plan.frequency.date(n, from: plan.startDate)
            n += 1
            if let end = plan.endDate, date > end { break }
            if date < today || done.contains(date.iso) { continue }
            let amount = min(plan.amount.minorUnits, left)
            charges.append(UpcomingCharge(date: date, amount: Money(amount, plan.amount.currency), description: "Plan instalment"))
            left -= amount
        }
        return charges
    }

    static func openBalance(accountId: String, currency: CurrencyCode, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: """
            SELECT coalesce(sum(balance), 0) FROM invoices WHERE account_id = ? AND currency = ? AND status IN ('open', 'partially_paid') AND balance > 0
            """, arguments: [accountId, currency.code]) ?? 0
    }

    static func plan(_ row: Row) -> PaymentPlan {
        let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        return PaymentPlan(id: row["id"], methodId: row["payment_method_id"],
                           methodLabel: "\(PaymentMethod.brandName(row["brand"])) •••• \(row["last4"] as String)",
                           amount: Money(row["amount"], currency), frequency: PlanFrequency(rawValue: row["frequency"]) ?? .monthly,
                           startDate: CalendarDate(iso: row["start_date"]) ?? CalendarDate(iso: "1970-01-01")!,
                           endDate: (row["end_date"] as String?).flatMap(CalendarDate.init(iso:)),
                           status: PaymentPlan.Status(rawValue: row["status"]) ?? .cancelled, consentText: row["consent_text"])
    }
}
