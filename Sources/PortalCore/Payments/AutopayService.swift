import GRDB

/// Autopay: an account's standing consent to charge a saved card for each invoice, on its due date
/// or some days before. Enrolling records the consent word for word; every change is audited and
/// emailed to the person who made it. The worker makes the charges (`ScheduledChargeRunner`).
public struct AutopayService: Sendable {
    let db: any DatabaseWriter
    let outbox: MailOutbox
    let clock: PortalClock

    init(db: any DatabaseWriter, outbox: MailOutbox, clock: PortalClock) {
        self.db = db
        self.outbox = outbox
        self.clock = clock
    }

    public func current(_ scope: CustomerScope) async throws -> AutopayEnrollment? {
        try await db.read { db in
            try InvoiceService.requireMembership(scope, db)
            return try Self.live(accountId: scope.accountId, db)
        }
    }

    /// Enrols the account, or replaces its current enrolment (new card or timing means new consent).
    @discardableResult
    public func enroll(_ scope: CustomerScope, methodId: String, timing: AutopayTiming, consentGiven: Bool, accountName: String,
                       email: String, client: ClientInfo, actor: AuditEvent) async throws -> AutopayEnrollment {
        guard consentGiven else { throw RecurringError.consentRequired }
        if case .daysBefore(let days) = timing, !(1...30).contains(days) { throw RecurringError.invalidDays }
        let now = clock.nowSeconds()
        let today = CalendarDate(clock.now())
        let enrollment = try await db.write { db -> AutopayEnrollment in
            try InvoiceService.requireMembership(scope, db)
            let card = try PaymentMethodService.usableMethodLabel(accountId: scope.accountId, methodId: methodId, today: today, db)
            let text = RecurringConsent.autopay(account: accountName, card: card, timing: timing)
            let previous = try Self.live(accountId: scope.accountId, db)
            try db.execute(sql: "UPDATE autopay_enrollments SET status = 'cancelled', updated_at = ? WHERE account_id = ? AND status <> 'cancelled'",
                           arguments: [now, scope.accountId])
            let id = OpaqueID.make("ap")
            let (timingName, days) = timing.storage
            try db.execute(sql: """
                INSERT INTO autopay_enrollments (id, account_id, payment_method_id, timing, days_before, status, consent_version, consent_text,
                    consented_by, consented_at, consent_address, consent_user_agent, covers_from, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, scope.accountId, methodId, timingName, days, RecurringConsent.version, text, scope.userId, now,
                                 client.address, client.userAgent, previous?.coversFrom.iso ?? today.iso, now, now])
            // Charges planned under the old terms are dropped; the worker plans again under the new ones.
            try db.execute(sql: """
                UPDATE scheduled_charges SET state = 'skipped', last_error = 'autopay changed', updated_at = ?
                WHERE account_id = ? AND source = 'autopay' AND state = 'scheduled'
                """, arguments: [now, scope.accountId])
            var event = actor
            event.action = previous == nil ? "autopay.enroll" : "autopay.change"
            event.accountId = scope.accountId
            event.details = ["enrollment": id, "card": card, "timing": timing.label, "consent_version": RecurringConsent.version]
            try AuditService.insert(event, now: now, db)
            guard let created = try Self.live(accountId: scope.accountId, db) else { throw RecurringError.notFound }
            try MailOutbox.insert(try outbox.render(template: "autopay_changed", to: email, context: [
                "account": accountName, "change": previous == nil ? "turned on" : "changed", "card": card, "timing": timing.label,
                "consent": text, "active": true,
            ]), now: now, db)
            return created
        }
        return enrollment
    }

    public enum Change: String, Sendable { case pause, resume, cancel }

    public func change(_ scope: CustomerScope, _ change: Change, accountName: String, email: String, actor: AuditEvent) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try InvoiceService.requireMembership(scope, db)
            guard let current = try Self.live(accountId: scope.accountId, db) else { throw RecurringError.notFound }
            let target: AutopayEnrollment.Status
            switch (change, current.status) {
            case (.pause, .active): target = .paused
            case (.resume, .paused): target = .active
            case (.cancel, _): target = .cancelled
            default: throw RecurringError.notActive
            }
            try db.execute(sql: "UPDATE autopay_enrollments SET status = ?, updated_at = ? WHERE id = ?",
                           arguments: [target.rawValue, now, current.id])
            if target == .active {
                // What pausing held back runs again (the planner's unique key would not plan it twice).
                try db.execute(sql: """
                    UPDATE scheduled_charges SET state = 'scheduled', last_error = NULL, updated_at = ?
                    WHERE source = 'autopay' AND source_id = ? AND state = 'skipped' AND last_error = 'autopay paused'
                    """, arguments: [now, current.id])
            } else {
                try db.execute(sql: """
                    UPDATE scheduled_charges SET state = 'skipped', last_error = ?, updated_at = ?
                    WHERE source = 'autopay' AND source_id = ? AND state = 'scheduled'
                    """, arguments: ["autopay \(target.rawValue)", now, current.id])
            }
            var event = actor
            event.action = "autopay.\(change.rawValue)"
            event.accountId = scope.accountId
            event.details = ["enrollment": current.id]
            try AuditService.insert(event, now: now, db)
            let words = ["pause": "paused", "resume": "resumed", "cancel": "cancelled"][change.rawValue] ?? change.rawValue
            try MailOutbox.insert(try outbox.render(template: "autopay_changed", to: email, context: [
                "account": accountName, "change": words, "card": current.methodLabel, "timing": current.timing.label,
                "active": target == .active,
            ]), now: now, db)
        }
    }

    /// The charges autopay will make for the account's open invoices.
    public func upcoming(_ scope: CustomerScope) async throws -> [UpcomingCharge] {
        let today = CalendarDate(clock.now())
        return try await db.read { db in
            try InvoiceService.requireMembership(scope, db)
            guard let enrollment = try Self.live(accountId: scope.accountId, db), enrollment.status == .active else { return [] }
            let days = enrollment.timing.storage.days
            return try Row.fetchAll(db, sql: """
                SELECT number, due_date, balance, currency FROM invoices
                WHERE account_id = ? AND status IN ('open', 'partially_paid') AND balance > 0 AND due_date >= ?
                ORDER BY due_date, id LIMIT 50
                """, arguments: [scope.accountId, enrollment.coversFrom.iso]).compactMap { row in
                guard let due = CalendarDate(iso: row["due_date"]), let currency = CurrencyCode(row["currency"]) else { return nil }
                let date = max(due.adding(days: -days), today)
                return UpcomingCharge(date: date, amount: Money(row["balance"], currency), description: "Invoice \(row["number"] as String)")
            }
        }
    }

    static func live(accountId: String, _ db: Database) throws -> AutopayEnrollment? {
        try Row.fetchOne(db, sql: """
            SELECT e.*, m.brand, m.last4 FROM autopay_enrollments e JOIN payment_methods m ON m.id = e.payment_method_id
            WHERE e.account_id = ? AND e.status <> 'cancelled'
            """, arguments: [accountId]).map { row in
            AutopayEnrollment(id: row["id"], methodId: row["payment_method_id"],
                              methodLabel: "\(PaymentMethod.brandName(row["brand"])) •••• \(row["last4"] as String)",
                              timing: AutopayTiming(timing: row["timing"], days: row["days_before"]),
                              status: AutopayEnrollment.Status(rawValue: row["status"]) ?? .paused, consentVersion: row["consent_version"],
                              consentText: row["consent_text"], consentedAt: row["consented_at"],
                              coversFrom: CalendarDate(iso: row["covers_from"]) ?? CalendarDate(iso: "1970-01-01")!)
        }
    }
}
