import GRDB

/// When the integration needs a person, and who to tell.
public struct SyncAlertPolicy: Sendable, Equatable {
    /// Where alerts go (`PORTAL_SYNC_ALERT_EMAIL`); nil: no alerts.
    public var address: String?
    /// Open sync failures from which an alert is raised (`PORTAL_SYNC_ALERT_FAILURES`).
    public var failureThreshold = 10
    /// Minutes without a successful pull, or for the oldest pending push, before an alert (`PORTAL_SYNC_STALL_MINUTES`).
    public var stallMinutes = 60

    public init(address: String? = nil, failureThreshold: Int = 10, stallMinutes: Int = 60) {
        self.address = address
        self.failureThreshold = failureThreshold
        self.stallMinutes = stallMinutes
    }
}

/// Checks the integration's health once per worker cycle and emails the configured address when an
/// incident opens: open sync failures at the threshold, no successful pull for `stallMinutes` (once
/// the sync has ever run), dead CRM pushes, or a push pending longer than `stallMinutes`. Each kind
/// is an incident row (`integration_alert_incidents`) opened with its email in one transaction and
/// closed when the condition clears, so an incident is emailed once, and again only if it recurs.
public struct SyncAlertService: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case syncFailures = "sync_failures", syncStalled = "sync_stalled", outboxDead = "outbox_dead", outboxLate = "outbox_late"
    }

    public struct CheckResult: Sendable, Equatable {
        public var opened: [Kind] = []
        public var cleared: [Kind] = []
    }

    let db: any DatabaseWriter
    let clock: PortalClock
    let outbox: MailOutbox
    let links: LinkBuilder
    public let policy: SyncAlertPolicy

    public init(db: any DatabaseWriter, clock: PortalClock, outbox: MailOutbox, links: LinkBuilder, policy: SyncAlertPolicy) {
        self.db = db
        self.clock = clock
        self.outbox = outbox
        self.links = links
        self.policy = policy
    }

    /// The worker calls this every cycle; with no address configured it does nothing.
    @discardableResult
    public func check() async throws -> CheckResult {
        guard let address = policy.address else { return CheckResult() }
        let now = clock.nowSeconds()
        let stall = Int64(policy.stallMinutes) * 60
        let threshold = policy.failureThreshold
        let templateOutbox = outbox
        let url = links.absolute(SitePath.staffIntegration)
        return try await db.write { db in
            let conditions = try Self.conditions(db, now: now, stallSeconds: stall, failureThreshold: threshold)
            var result = CheckResult()
            for kind in Kind.allCases {
                let open = try Bool.fetchOne(db, sql: "SELECT 1 FROM integration_alert_incidents WHERE kind = ? AND cleared_at IS NULL",
                                             arguments: [kind.rawValue]) ?? false
                switch (conditions[kind], open) {
                case (let detail?, false):
                    try db.execute(sql: "INSERT INTO integration_alert_incidents (kind, detail, opened_at) VALUES (?, ?, ?)",
                                   arguments: [kind.rawValue, detail, now])
                    result.opened.append(kind)
                case (nil, true):
                    try db.execute(sql: "UPDATE integration_alert_incidents SET cleared_at = ? WHERE kind = ? AND cleared_at IS NULL",
                                   arguments: [now, kind.rawValue])
                    result.cleared.append(kind)
                default:
                    break
                }
            }
            if !result.opened.isEmpty {
                let problems = result.opened.map { conditions[$0]! }
                try MailOutbox.insert(try templateOutbox.render(template: "sync_alert", to: address, context: [
                    "problems": problems, "count": problems.count, "url": url,
                ]), now: now, db)
            }
            return result
        }
    }

    /// Each kind whose condition holds now, with a sentence saying what was found.
    static func conditions(_ db: Database, now: Int64, stallSeconds: Int64, failureThreshold: Int) throws -> [Kind: String] {
        var found: [Kind: String] = [:]
        let failures = try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_failures WHERE resolved_at IS NULL") ?? 0
        if failures >= failureThreshold {
            found[.syncFailures] = "\(failures) CRM records failed to import and are still open (alert threshold \(failureThreshold))."
        }
        // A sync that has never run is not stalled: Creatio may simply not be set up. Each entity is
        // its own pull, so one stuck behind others that succeed is still a stall.
        if let stalest = try IntegrationService.stalestPull(db), now - stalest.at >= stallSeconds {
            found[.syncStalled] = "No successful pull of \(stalest.entity) records from Creatio for \(Self.minutes(now - stalest.at)) minutes."
        }
        let dead = try Int.fetchOne(db, sql: "SELECT count(*) FROM crm_outbox WHERE status = 'dead'") ?? 0
        if dead > 0 { found[.outboxDead] = "\(dead) update(s) for the CRM gave up after their retries (dead)." }
        if let oldest = try Int64.fetchOne(db, sql: "SELECT min(created_at) FROM crm_outbox WHERE status = 'pending'"), now - oldest >= stallSeconds {
            found[.outboxLate] = "The oldest update waiting for the CRM has waited \(Self.minutes(now - oldest)) minutes."
        }
        return found
    }

    static func minutes(_ seconds: Int64) -> Int64 { seconds / 60 }
}
