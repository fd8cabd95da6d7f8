import GRDB

/// Reminders before and after invoices fall due, and notices of cards about to expire. Each goes
/// out once per invoice (or card) and occasion, recorded in `notices_sent`, so a worker that runs
/// every minute, or two workers, send it once; a worker that was down catches up with the latest
/// occasion only rather than a burst of stale ones.
public struct ReminderService: Sendable {
    let db: any DatabaseWriter
    let outbox: MailOutbox
    let links: LinkBuilder
    let clock: PortalClock
    let policy: RecurringPolicy

    init(db: any DatabaseWriter, outbox: MailOutbox, links: LinkBuilder, clock: PortalClock, policy: RecurringPolicy) {
        self.db = db
        self.outbox = outbox
        self.links = links
        self.clock = clock
        self.policy = policy
    }

    /// Queues every reminder and notice due now; returns how many emails were queued.
    @discardableResult
    public func runOnce() async throws -> Int {
        try await invoiceReminders() + cardExpiryNotices()
    }

    /// The occasion an invoice is at today: the nearest "days before" threshold it has reached, or
    /// the furthest "days after" one it has passed; nil between them.
    static func occasion(due: CalendarDate, today: CalendarDate, policy: RecurringPolicy) -> String? {
        let daysUntil = Int((due.date.timeIntervalSince(today.date) / 86_400).rounded())
        if daysUntil > 0 {
            return policy.reminderDaysBefore.filter { daysUntil <= $0 }.min().map { "before-\($0)" }
        }
        return policy.reminderDaysAfter.filter { -daysUntil >= $0 }.max().map { "after-\($0)" }
    }

    func invoiceReminders() async throws -> Int {
        let today = CalendarDate(clock.now())
        let now = clock.nowSeconds()
        let earliest = today.adding(days: -((policy.reminderDaysAfter.max() ?? 0) + 30))
        let latest = today.adding(days: policy.reminderDaysBefore.max() ?? 0)
        let policy = self.policy
        return try await db.write { db in
            // Invoices autopay will pay are not chased before they fall due.
            let rows = try Row.fetchAll(db, sql: """
                SELECT i.id, i.number, i.due_date, i.balance, i.currency, i.account_id, a.name AS account_name,
                    EXISTS (SELECT 1 FROM autopay_enrollments e WHERE e.account_id = i.account_id AND e.status = 'active'
                            AND i.due_date >= e.covers_from) AS on_autopay
                FROM invoices i JOIN accounts a ON a.id = i.account_id
                WHERE i.status IN ('open', 'partially_paid') AND i.balance > 0 AND i.due_date BETWEEN ? AND ?
                """, arguments: [earliest.iso, latest.iso])
            var queued = 0
            for row in rows {
                guard let due = CalendarDate(iso: row["due_date"]), let currency = CurrencyCode(row["currency"]),
                      let occasion = Self.occasion(due: due, today: today, policy: policy) else { continue }
                if occasion.hasPrefix("before"), row["on_autopay"] as Bool { continue }
                guard try Self.markSent("invoice_reminder", subject: row["id"], occasion: occasion, now: now, db) else { continue }
                for email in try Self.recipients(accountId: row["account_id"], db) {
                    try MailOutbox.insert(try outbox.render(template: "invoice_reminder", to: email, context: [
                        "number": row["number"] as String, "account": row["account_name"] as String,
                        "balance": Money(row["balance"], currency).formatted, "due": due.formatted, "overdue": due < today,
                        "payURL": links.absolute(SitePath.payInvoice(row["id"])),
                    ]), now: now, db)
                    queued += 1
                }
            }
            return queued
        }
    }

    func cardExpiryNotices() async throws -> Int {
        let today = CalendarDate(clock.now())
        let horizon = today.adding(days: policy.cardExpiryNoticeDays)
        let (nowIndex, horizonIndex) = (Self.monthIndex(today), Self.monthIndex(horizon))
        let now = clock.nowSeconds()
        return try await db.write { db in
            // A card works through the last day of its expiry month: notify once that day is within the window.
            let rows = try Row.fetchAll(db, sql: """
                SELECT m.id, m.brand, m.last4, m.exp_month, m.exp_year, m.account_id, a.name AS account_name
                FROM payment_methods m JOIN accounts a ON a.id = m.account_id
                WHERE m.removed_at IS NULL AND m.payment_link_id IS NULL AND m.exp_year * 12 + m.exp_month - 1 BETWEEN ? AND ?
                """, arguments: [nowIndex, horizonIndex - 1])
            var queued = 0
            for row in rows {
                let occasion = "\(row["exp_year"] as Int)-\(row["exp_month"] as Int)"
                guard try Self.markSent("card_expiring", subject: row["id"], occasion: occasion, now: now, db) else { continue }
                for email in try Self.recipients(accountId: row["account_id"], db) {
                    try MailOutbox.insert(try outbox.render(template: "card_expiring", to: email, context: [
                        "card": "\(PaymentMethod.brandName(row["brand"])) •••• \(row["last4"] as String)",
                        "expiry": String(format: "%02d/%d", row["exp_month"] as Int, row["exp_year"] as Int),
                        "account": row["account_name"] as String, "updateURL": links.absolute(SitePath.paymentMethods),
                    ]), now: now, db)
                    queued += 1
                }
            }
            return queued
        }
    }

    static func monthIndex(_ date: CalendarDate) -> Int {
        let parts = date.iso.split(separator: "-").compactMap { Int($0) }
        return parts[0] * 12 + parts[1] - 1
    }

    /// True when this call recorded the notice, false when it had gone out already.
    static func markSent(_ kind: String, subject: String, occasion: String, now: Int64, _ db: Database) throws -> Bool {
        try db.execute(sql: "INSERT INTO notices_sent (kind, subject_id, occasion, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       arguments: [kind, subject, occasion, now])
        return db.changesCount == 1
    }

    static func recipients(accountId: String, _ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT u.email FROM account_memberships m JOIN customer_users u ON u.id = m.user_id
            WHERE m.account_id = ? AND u.status = 'active' ORDER BY u.email
            """, arguments: [accountId])
    }
}
