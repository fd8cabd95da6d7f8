import GRDB

/// The integration page's reads and actions: pull cursors and sync failures (`creatio_sync_cursors`,
/// `sync_failures`), the CRM outbox (`crm_outbox`), reprocessing failed records through the CRM
/// connection and pushing outbox rows again. Each action checks the actor's role against the table
/// and is audited.
public struct IntegrationService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock
    /// nil when no CRM connection is configured.
    public let control: (any IntegrationControl)?

    /// Shown even before their first pull, so a missing one stands out.
    public static let entities = ["Account", "Contact", "Invoice", "InvoiceProduct"]
    public static let topics = CRMOutbox.Topic.allCases.map(\.rawValue)
    /// At most this many failures are reprocessed by one "reprocess all".
    public static let reprocessBatch = 500
    static let listLimit = 200

    public init(db: any DatabaseWriter, clock: PortalClock, control: (any IntegrationControl)?) {
        self.db = db
        self.clock = clock
        self.control = control
    }

    public var configured: Bool { control != nil }

    // MARK: Reading

    public func status() async throws -> IntegrationStatus {
        let now = clock.nowSeconds()
        return try await db.read { db in
            var pulls = try Row.fetchAll(db, sql: """
                SELECT c.entity, c.last_pull_at, c.pulled_count, c.failed_count,
                       (SELECT count(*) FROM sync_failures f WHERE f.entity = c.entity AND f.resolved_at IS NULL) AS open
                FROM creatio_sync_cursors c ORDER BY c.entity
                """).map { row in
                IntegrationStatus.Pull(entity: row["entity"], lastPullAt: row["last_pull_at"], pulled: row["pulled_count"],
                                       failed: row["failed_count"], openFailures: row["open"],
                                       lagSeconds: (row["last_pull_at"] as Int64?).map { now - $0 })
            }
            for entity in Self.entities where !pulls.contains(where: { $0.entity == entity }) {
                let open = try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_failures WHERE entity = ? AND resolved_at IS NULL",
                                            arguments: [entity]) ?? 0
                pulls.append(.init(entity: entity, lastPullAt: nil, pulled: 0, failed: 0, openFailures: open, lagSeconds: nil))
            }
            pulls.sort { (Self.entities.firstIndex(of: $0.entity) ?? 99, $0.entity) < (Self.entities.firstIndex(of: $1.entity) ?? 99, $1.entity) }

            var pushes = try Row.fetchAll(db, sql: """
                SELECT topic, max(delivered_at) AS last_delivered, sum(status = 'delivered') AS delivered,
                       sum(status = 'pending') AS pending, sum(status = 'dead') AS dead,
                       min(CASE WHEN status = 'pending' THEN created_at END) AS oldest
                FROM crm_outbox GROUP BY topic ORDER BY topic
                """).map { row in
                IntegrationStatus.Push(topic: row["topic"], lastDeliveredAt: row["last_delivered"], delivered: row["delivered"],
                                       pending: row["pending"], dead: row["dead"],
                                       oldestPendingSeconds: (row["oldest"] as Int64?).map { now - $0 })
            }
            for topic in Self.topics where !pushes.contains(where: { $0.topic == topic }) {
                pushes.append(.init(topic: topic, lastDeliveredAt: nil, delivered: 0, pending: 0, dead: 0, oldestPendingSeconds: nil))
            }
            pushes.sort { (Self.topics.firstIndex(of: $0.topic) ?? 99, $0.topic) < (Self.topics.firstIndex(of: $1.topic) ?? 99, $1.topic) }

            let failures = try Row.fetchAll(db, sql: """
                SELECT * FROM sync_failures WHERE resolved_at IS NULL ORDER BY last_seen_at DESC, entity, crm_id LIMIT ?
                """, arguments: [Self.listLimit]).map { row in
                IntegrationStatus.Failure(entity: row["entity"], crmId: row["crm_id"], error: row["error"], attempts: row["attempts"],
                                          firstSeenAt: row["first_seen_at"], lastSeenAt: row["last_seen_at"])
            }
            let outbox = try Row.fetchAll(db, sql: """
                SELECT o.id, o.topic, o.status, o.attempts, o.next_attempt_at, o.created_at, o.last_error, i.number
                FROM crm_outbox o JOIN invoices i ON i.id = o.invoice_id
                WHERE o.status IN ('pending', 'dead') ORDER BY o.status = 'pending', o.created_at, o.id LIMIT ?
                """, arguments: [Self.listLimit]).map { row in
                IntegrationStatus.OutboxRow(id: row["id"], topic: row["topic"], status: row["status"], invoiceNumber: row["number"],
                                            attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"], createdAt: row["created_at"],
                                            lastError: row["last_error"])
            }
            let lastPull = try Self.stalestPull(db)?.at
            return IntegrationStatus(
                now: now, pulls: pulls, pushes: pushes, failures: failures,
                openFailureCount: try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_failures WHERE resolved_at IS NULL") ?? 0,
                outbox: outbox, pendingCount: pushes.reduce(0) { $0 + $1.pending }, deadCount: pushes.reduce(0) { $0 + $1.dead },
                oldestPendingSeconds: pushes.compactMap(\.oldestPendingSeconds).max(), syncLagSeconds: lastPull.map { now - $0 })
        }
    }

    /// The entity whose last pull is oldest, among those pulled at least once: the sync's lag is
    /// its slowest entity's, not its quickest's.
    static func stalestPull(_ db: Database) throws -> (entity: String, at: Int64)? {
        try Row.fetchOne(db, sql: """
            SELECT entity, last_pull_at FROM creatio_sync_cursors WHERE last_pull_at IS NOT NULL ORDER BY last_pull_at, entity LIMIT 1
            """).map { ($0["entity"], $0["last_pull_at"]) }
    }

    // MARK: Reprocessing failed records

    /// Reads one failed record again from the CRM and imports it if it now maps.
    public func reprocess(entity: String, crmId: String, actor: AuditEvent) async throws -> ReprocessOutcome {
        let control = try await permitted(actor)
        let open = try await db.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM sync_failures WHERE entity = ? AND crm_id = ? AND resolved_at IS NULL",
                              arguments: [entity, crmId]) ?? false
        }
        guard open else { throw IntegrationError.notFound }
        let outcomes = try await ask(control) { try await $0.reprocess(entity: entity, crmIds: [crmId]) }
        let outcome = outcomes.first { $0.crmId == crmId } ?? ReprocessOutcome(entity: entity, crmId: crmId, error: "the CRM did not answer for it")
        try await audit(actor, "integration.reprocess", outcome: outcome.imported ? .success : .failure,
                        details: ["entity": entity, "crm_id": crmId] .merging(outcome.error.map { ["error": String($0.prefix(200))] } ?? [:]) { $1 })
        return outcome
    }

    /// Every open failure (up to `reprocessBatch`, oldest first), entity by entity in pull order, so
    /// accounts are in before the invoices that name them.
    public func reprocessAll(actor: AuditEvent) async throws -> [ReprocessOutcome] {
        let control = try await permitted(actor)
        let open = try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT entity, crm_id FROM sync_failures WHERE resolved_at IS NULL ORDER BY first_seen_at, crm_id LIMIT ?",
                             arguments: [Self.reprocessBatch]).map { (entity: $0["entity"] as String, crmId: $0["crm_id"] as String) }
        }
        var outcomes: [ReprocessOutcome] = []
        let entities = Self.entities + Set(open.map(\.entity)).subtracting(Self.entities).sorted()
        for entity in entities {
            let ids = open.filter { $0.entity == entity }.map(\.crmId)
            guard !ids.isEmpty else { continue }
            outcomes += try await ask(control) { try await $0.reprocess(entity: entity, crmIds: ids) }
        }
        let imported = outcomes.filter(\.imported).count
        try await audit(actor, "integration.reprocess_all", outcome: .success,
                        details: ["imported": String(imported), "still_failing": String(outcomes.count - imported)])
        return outcomes
    }

    // MARK: The CRM outbox

    /// Makes a pending or dead row due now. A row a worker holds a live lease on is left to it, so it
    /// is never pushed twice at once. Its attempts are kept: a dead row gets one more try.
    public func retryOutbox(id: Int64, actor: AuditEvent) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            guard try StaffPermission.holder(of: actor, allowed: { $0.includes(.finance) }, db) != nil else { throw IntegrationError.notPermitted }
            guard let topic = try String.fetchOne(db, sql: """
                UPDATE crm_outbox SET status = 'pending', next_attempt_at = ?
                WHERE id = ? AND status IN ('pending', 'dead') AND (leased_until IS NULL OR leased_until <= ?) RETURNING topic
                """, arguments: [now, id, now]) else { throw IntegrationError.notFound }
            var event = actor
            event.action = "integration.outbox_retry"
            event.details = ["id": String(id), "topic": topic]
            try AuditService.insert(event, now: now, db)
        }
    }

    /// Every dead and pending row not under a live lease; returns how many were made due.
    public func retryAllOutbox(actor: AuditEvent) async throws -> Int {
        let now = clock.nowSeconds()
        return try await db.write { db in
            guard try StaffPermission.holder(of: actor, allowed: { $0.includes(.finance) }, db) != nil else { throw IntegrationError.notPermitted }
            try db.execute(sql: """
                UPDATE crm_outbox SET status = 'pending', next_attempt_at = ?
                WHERE status IN ('pending', 'dead') AND (leased_until IS NULL OR leased_until <= ?)
                """, arguments: [now, now])
            let count = db.changesCount
            var event = actor
            event.action = "integration.outbox_retry_all"
            event.details = ["rows": String(count)]
            try AuditService.insert(event, now: now, db)
            return count
        }
    }

    // MARK: Helpers

    func permitted(_ actor: AuditEvent) async throws -> any IntegrationControl {
        guard let control else { throw IntegrationError.notConfigured }
        let allowed = try await db.read { db in try StaffPermission.holder(of: actor, allowed: { $0.includes(.finance) }, db) != nil }
        guard allowed else { throw IntegrationError.notPermitted }
        return control
    }

    /// A CRM that cannot be reached is the page's to explain, not a server error.
    func ask<T>(_ control: any IntegrationControl, _ body: (any IntegrationControl) async throws -> T) async throws -> T {
        do { return try await body(control) } catch let error as IntegrationError { throw error } catch {
            throw IntegrationError.crmUnavailable("\(error)")
        }
    }

    func audit(_ actor: AuditEvent, _ action: String, outcome: AuditEvent.Outcome, details: [String: String]) async throws {
        var draft = actor
        draft.action = action
        draft.outcome = outcome
        draft.details = details
        let event = draft, now = clock.nowSeconds()
        try await db.write { db in try AuditService.insert(event, now: now, db) }
    }
}
