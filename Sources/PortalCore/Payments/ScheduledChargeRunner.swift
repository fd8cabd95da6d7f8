import Crypto
import Foundation
import GRDB

/// Makes the recurring charges: plans what autopay and payment plans owe, then claims due charges
/// with a lease and pays each through `PaymentService` under a request key derived from the
/// scheduled charge. Two workers, or one restarted mid-run, can't charge twice: planning inserts
/// each charge once (unique key), a lease gives a charge to one worker at a time, and a re-run
/// finds the payment the first run made by its key instead of making another.
public struct ScheduledChargeRunner: Sendable {
    let db: any DatabaseWriter
    let payments: PaymentService
    let outbox: MailOutbox
    let links: LinkBuilder
    let clock: PortalClock
    let policy: RecurringPolicy
    /// How long a claimed charge belongs to its worker before another may take it over.
    let leaseSeconds: Int64

    init(db: any DatabaseWriter, payments: PaymentService, outbox: MailOutbox, links: LinkBuilder, clock: PortalClock,
         policy: RecurringPolicy, leaseSeconds: Int64 = 300) {
        self.db = db
        self.payments = payments
        self.outbox = outbox
        self.links = links
        self.clock = clock
        self.policy = policy
        self.leaseSeconds = leaseSeconds
    }

    public struct Summary: Sendable, Equatable {
        public var planned = 0
        public var succeeded = 0
        public var failed = 0
        public var awaiting = 0
        public var skipped = 0
    }

    // MARK: Planning

    /// Inserts every charge due today or earlier that is not planned yet; returns how many.
    @discardableResult
    public func plan() async throws -> Int {
        let today = CalendarDate(clock.now())
        let now = clock.nowSeconds()
        return try await db.write { db in
            // Autopay: each open invoice of an active enrolment, on its due date less the enrolment's days.
            try db.execute(sql: """
                INSERT INTO scheduled_charges (id, account_id, source, source_id, period_key, attempt, run_on, state, created_at, updated_at)
                SELECT 'sc_' || lower(hex(randomblob(12))), i.account_id, 'autopay', e.id, i.id, 1,
                       max(date(i.due_date, printf('-%d days', e.days_before)), e.covers_from), 'scheduled', ?, ?
                FROM autopay_enrollments e JOIN invoices i ON i.account_id = e.account_id
                WHERE e.status = 'active' AND i.status IN ('open', 'partially_paid') AND i.balance > 0 AND i.due_date >= e.covers_from
                  AND date(i.due_date, printf('-%d days', e.days_before)) <= ?
                ON CONFLICT (source, source_id, period_key, attempt) DO NOTHING
                """, arguments: [now, now, today.iso])
            var planned = db.changesCount
            let plans = try Row.fetchAll(db, sql: """
                SELECT p.*, m.brand, m.last4 FROM payment_plans p JOIN payment_methods m ON m.id = p.payment_method_id WHERE p.status = 'active'
                """).map(PaymentPlanService.plan)
            for plan in plans {
                var n = 0
                while n < 1_000 {
                    let date = plan.frequency.date(n, from: plan.startDate)
                    n += 1
                    if date > today { break }
                    if let end = plan.endDate, date > end {
                        try db.execute(sql: "UPDATE payment_plans SET status = 'completed', updated_at = ? WHERE id = ?", arguments: [now, plan.id])
                        break
                    }
                    try db.execute(sql: """
                        INSERT INTO scheduled_charges (id, account_id, source, source_id, period_key, attempt, run_on, state, created_at, updated_at)
                        SELECT 'sc_' || lower(hex(randomblob(12))), account_id, 'plan', id, ?, 1, ?, 'scheduled', ?, ? FROM payment_plans WHERE id = ?
                        ON CONFLICT (source, source_id, period_key, attempt) DO NOTHING
                        """, arguments: [date.iso, date.iso, now, now, plan.id])
                    planned += db.changesCount
                }
            }
            return planned
        }
    }

    // MARK: Running

    struct Claimed: Sendable {
        var id: String
        var accountId: String
        var source: String
        var sourceId: String
        var periodKey: String
        var attempt: Int
    }

    /// Claims and makes due charges until none are left, `concurrency` at a time.
    public func runDue(worker: String, batch: Int = 100, concurrency: Int = 8) async throws -> Summary {
        var summary = Summary()
        while true {
            let claimed = try await claim(worker: worker, limit: batch)
            if claimed.isEmpty { return summary }
            try await withThrowingTaskGroup(of: String.self) { group in
                var next = claimed.makeIterator()
                func add() -> Bool {
                    guard let charge = next.next() else { return false }
                    group.addTask { try await self.make(charge) }
                    return true
                }
                for _ in 0..<concurrency where !add() { break }
                while let state = try await group.next() {
                    switch state {
                    case "succeeded": summary.succeeded += 1
                    case "failed": summary.failed += 1
                    case "awaiting": summary.awaiting += 1
                    default: summary.skipped += 1
                    }
                    _ = add()
                }
            }
        }
    }

    func claim(worker: String, limit: Int) async throws -> [Claimed] {
        let now = clock.nowSeconds()
        let today = CalendarDate(clock.now()).iso
        let leaseUntil = now + leaseSeconds
        return try await db.write { db in
            try Row.fetchAll(db, sql: """
                UPDATE scheduled_charges SET state = 'running', lease_owner = ?, lease_until = ?, updated_at = ?
                WHERE id IN (SELECT id FROM scheduled_charges
                             WHERE run_on <= ? AND (state = 'scheduled' OR (state = 'running' AND lease_until < ?))
                             ORDER BY run_on, id LIMIT ?)
                RETURNING id, account_id, source, source_id, period_key, attempt
                """, arguments: [worker, leaseUntil, now, today, now, limit]).map {
                Claimed(id: $0["id"], accountId: $0["account_id"], source: $0["source"], sourceId: $0["source_id"],
                        periodKey: $0["period_key"], attempt: $0["attempt"])
            }
        }
    }

    /// Makes one claimed charge and records where it ended; returns the charge's new state.
    func make(_ charge: Claimed) async throws -> String {
        let today = CalendarDate(clock.now())
        let plan = try await db.read { db in try Self.terms(for: charge, db) }
        guard let plan else { return try await close(charge, state: "skipped", error: "no longer active", payment: nil) }
        if plan.amount <= 0 {
            if charge.source == "plan" {
                try await db.write { db in
                    try db.execute(sql: "UPDATE payment_plans SET status = 'completed', updated_at = ? WHERE id = ?",
                                   arguments: [clock.nowSeconds(), charge.sourceId])
                }
            }
            return try await close(charge, state: "skipped", error: "nothing owed", payment: nil)
        }
        let scope = CustomerScope(userId: plan.userId, accountId: charge.accountId)
        let actor = AuditEvent(action: "", actorKind: .system, actorLabel: "\(charge.source) worker", accountId: charge.accountId,
                               details: ["scheduled_charge": charge.id, "attempt": String(charge.attempt)])
        let payment: Payment
        do {
            payment = try await payments.pay(scope, .init(
                requestKey: Self.requestKey(charge.id), invoiceIds: plan.invoiceIds, amount: .exactly(Money(plan.amount, plan.currency)),
                method: .saved(plan.methodId), source: charge.source == "plan" ? .plan : .autopay, actor: actor,
                accountName: plan.accountName, email: plan.email))
        } catch let error as PaymentError {
            switch error {
            case .invoiceNotPayable, .noInvoices:
                return try await close(charge, state: "skipped", error: "nothing owed", payment: nil)
            case .paymentInProgress:
                // A payment the customer made themselves has no answer yet: nothing is charged now,
                // and the charge runs again tomorrow, when that answer says whether anything is still owed.
                return try await postpone(charge, to: today.adding(days: 1), error: "a payment is still processing")
            default:
                // The card can't be used (removed, expired) or the payer left the account: no charge was
                // attempted, and the customer must act, so they hear about it now.
                let reason = Self.describe(error)
                try await notifyFailure(charge, plan: plan, reason: reason, retryOn: nil, today: today)
                return try await close(charge, state: "failed", error: reason, payment: nil)
            }
        }
        return try await finish(charge, plan: plan, payment: payment, today: today)
    }

    /// Settles charges whose payment was waiting for the gateway (after the reconciler or a webhook).
    @discardableResult
    public func finishAwaiting() async throws -> Int {
        let today = CalendarDate(clock.now())
        let waiting = try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.id, c.account_id, c.source, c.source_id, c.period_key, c.attempt, c.payment_id FROM scheduled_charges c
                JOIN payments p ON p.id = c.payment_id WHERE c.state = 'awaiting' AND p.status <> 'pending'
                """).map { (Claimed(id: $0["id"], accountId: $0["account_id"], source: $0["source"], sourceId: $0["source_id"],
                                    periodKey: $0["period_key"], attempt: $0["attempt"]), $0["payment_id"] as String) }
        }
        var finished = 0
        for (charge, paymentId) in waiting {
            guard let terms = try await db.read({ db in try Self.terms(for: charge, db, ignoreStatus: true) }),
                  let payment = try await db.read({ db in try PaymentRows.payment(db, id: paymentId) }) else { continue }
            _ = try await finish(charge, plan: terms, payment: payment, today: today)
            finished += 1
        }
        return finished
    }

    private func finish(_ charge: Claimed, plan: Terms, payment: Payment, today: CalendarDate) async throws -> String {
        switch payment.status {
        case .pending:
            return try await close(charge, state: "awaiting", error: nil, payment: payment.id)
        case .failed:
            let retryable = payment.declineRetryable ?? false
            var retryOn: CalendarDate?
            if retryable, charge.attempt <= policy.retryDays.count {
                let date = today.adding(days: policy.retryDays[charge.attempt - 1])
                retryOn = date
                let now = clock.nowSeconds()
                try await db.write { db in
                    try db.execute(sql: """
                        INSERT INTO scheduled_charges (id, account_id, source, source_id, period_key, attempt, run_on, state, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)
                        ON CONFLICT (source, source_id, period_key, attempt) DO NOTHING
                        """, arguments: [OpaqueID.make("sc"), charge.accountId, charge.source, charge.sourceId, charge.periodKey,
                                         charge.attempt + 1, date.iso, now, now])
                }
            }
            let reason = payment.errorMessage ?? "The card was declined."
            let state = try await close(charge, state: "failed", error: payment.errorCode ?? "failed", payment: payment.id)
            try await notifyFailure(charge, plan: plan, reason: reason, retryOn: retryOn, today: today)
            return state
        default:
            return try await close(charge, state: "succeeded", error: nil, payment: payment.id)
        }
    }

    private func postpone(_ charge: Claimed, to day: CalendarDate, error: String) async throws -> String {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: """
                UPDATE scheduled_charges SET state = 'scheduled', run_on = ?, last_error = ?, lease_owner = NULL, lease_until = NULL,
                    updated_at = ? WHERE id = ?
                """, arguments: [day.iso, error, now, charge.id])
        }
        return "postponed"
    }

    private func close(_ charge: Claimed, state: String, error: String?, payment: String?) async throws -> String {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: """
                UPDATE scheduled_charges SET state = ?, last_error = ?, payment_id = coalesce(?, payment_id), lease_owner = NULL,
                    lease_until = NULL, updated_at = ? WHERE id = ?
                """, arguments: [state, error, payment, now, charge.id])
        }
        return state
    }

    /// Dunning: the payer hears what failed, whether and when it is retried, and where to update the card.
    private func notifyFailure(_ charge: Claimed, plan: Terms, reason: String, retryOn: CalendarDate?, today: CalendarDate) async throws {
        try await outbox.enqueue(template: "payment_failed", to: plan.email, context: [
            "account": plan.accountName, "amount": Money(plan.amount, plan.currency).formatted, "reason": reason,
            "what": charge.source == "plan" ? "payment plan instalment" : "autopay payment",
            "retryOn": retryOn?.formatted ?? "", "willRetry": retryOn != nil,
            "updateURL": links.absolute(SitePath.paymentMethods), "payURL": links.absolute(SitePath.invoices + "?status=open"),
        ])
    }

    /// What a scheduled charge is for, read when it runs so it reflects today's balances and cards.
    struct Terms: Sendable {
        var userId: String
        var email: String
        var accountName: String
        var methodId: String
        var invoiceIds: [String]
        var amount: Int64
        var currency: CurrencyCode
    }

    static func terms(for charge: Claimed, _ db: Database, ignoreStatus: Bool = false) throws -> Terms? {
        let table = charge.source == "plan" ? "payment_plans" : "autopay_enrollments"
        guard let row = try Row.fetchOne(db, sql: """
            SELECT s.payment_method_id, s.consented_by, s.status, \(charge.source == "plan" ? "s.amount, s.currency" : "NULL AS amount, NULL AS currency"),
                u.email, a.name AS account_name
            FROM \(table) s JOIN customer_users u ON u.id = s.consented_by JOIN accounts a ON a.id = s.account_id WHERE s.id = ?
            """, arguments: [charge.sourceId]) else { return nil }
        guard ignoreStatus || (row["status"] as String) == "active" else { return nil }
        var terms = Terms(userId: row["consented_by"], email: row["email"], accountName: row["account_name"], methodId: row["payment_method_id"],
                          invoiceIds: [], amount: 0, currency: CurrencyCode("XXX")!)
        if charge.source == "plan" {
            let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
            terms.currency = currency
            terms.invoiceIds = try String.fetchAll(db, sql: """
                SELECT id FROM invoices WHERE account_id = ? AND currency = ? AND status IN ('open', 'partially_paid') AND balance > 0
                ORDER BY due_date, id LIMIT 100
                """, arguments: [charge.accountId, currency.code])
            terms.amount = min(row["amount"] as Int64, try PaymentPlanService.openBalance(accountId: charge.accountId, currency: currency, db))
        } else if let invoice = try Row.fetchOne(db, sql: """
            SELECT balance, currency FROM invoices WHERE id = ? AND account_id = ? AND status IN ('open', 'partially_paid')
            """, arguments: [charge.periodKey, charge.accountId]) {
            terms.invoiceIds = [charge.periodKey]
            terms.amount = invoice["balance"]
            terms.currency = CurrencyCode(invoice["currency"]) ?? CurrencyCode("XXX")!
        }
        return terms
    }

    /// A form-shaped key (see `SecretToken.isWellFormed`) that is the same every time this charge runs.
    static func requestKey(_ chargeId: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array("scheduled-charge:\(chargeId)".utf8))))
    }

    static func describe(_ error: PaymentError) -> String {
        switch error {
        case .methodExpired: "The saved card has expired."
        case .methodNotFound: "The saved card is no longer on file."
        case .notConfigured: "Card payments are not set up."
        default: "The payment could not be made (\(error))."
        }
    }
}
