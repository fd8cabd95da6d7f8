import Foundation
import GRDB
import Logging

/// Why a webhook was refused at the door. The web layer answers each with a status and a sentence.
public enum WebhookError: Error, Equatable, Sendable {
    /// The path names no configured gateway.
    case unknownGateway
    case invalidSignature
    /// Signed too long ago (or in the future): possibly a replay.
    case stale
    /// Signed correctly but not an event the gateway's adapter can read.
    case malformed
}

public struct WebhookPolicy: Sendable {
    /// How long a worker owns a claimed event before another may take it.
    public var lease: Int64 = 60
    /// After this many failed tries an event is closed with its last error, for a person to see.
    public var maxAttempts: Int = 12
    /// Delay before the next try: 10 s doubling to at most an hour.
    func delay(afterAttempt attempt: Int) -> Int64 { min(10 << Int64(min(max(attempt - 1, 0), 20)), 3600) }

    public init() {}
}

/// Gateway events: `receive` checks the signature on the raw body and stores each event once, so
/// the gateway gets its answer at once; `runOnce` (the worker) applies stored events to payments.
/// Every path is safe in any order and any number of times: outcomes go through
/// `PaymentSettlement`, which only settles a pending payment; refunds are compared as totals; a
/// dispute is flagged once. An event that contradicts what the portal knows (a failure for a
/// payment that succeeded) changes nothing and is written to the audit trail instead.
public struct WebhookProcessor: Sendable {
    let db: any DatabaseWriter
    let gateway: (any PaymentGateway)?
    let settlement: PaymentSettlement
    let refunds: RefundService
    let outbox: MailOutbox
    let clock: PortalClock
    let billingAddress: String?
    let logger: Logger
    public let policy: WebhookPolicy

    init(db: any DatabaseWriter, gateway: (any PaymentGateway)?, settlement: PaymentSettlement, refunds: RefundService, outbox: MailOutbox,
         clock: PortalClock, billingAddress: String?, logger: Logger, policy: WebhookPolicy = WebhookPolicy()) {
        self.db = db
        self.gateway = gateway
        self.settlement = settlement
        self.refunds = refunds
        self.outbox = outbox
        self.clock = clock
        self.billingAddress = billingAddress
        self.logger = logger
        self.policy = policy
    }

    public enum Receipt: Sendable, Equatable {
        case stored
        /// The gateway sent it again (a retry): already stored, not stored twice.
        case duplicate
    }

    // MARK: Receiving

    /// Verifies an event posted to `/webhooks/{gatewayName}` and stores it for the worker.
    public func receive(gatewayName: String, headers: [String: String], body: [UInt8]) async throws -> Receipt {
        guard let gateway, gateway.name == gatewayName else { throw WebhookError.unknownGateway }
        let now = clock.now()
        let event: GatewayWebhookEvent
        do {
            event = try gateway.verifyWebhook(headers: headers, body: body, now: now)
        } catch PaymentGatewayError.invalidWebhookSignature {
            throw WebhookError.invalidSignature
        } catch PaymentGatewayError.staleWebhook {
            throw WebhookError.stale
        } catch PaymentGatewayError.rejected {
            throw WebhookError.malformed
        }
        let received = Int64(now.timeIntervalSince1970)
        let stored = try await db.write { db in
            // Kinds the portal does not act on are kept as received, already done.
            try db.execute(sql: """
                INSERT INTO webhook_events (gateway, event_id, kind, transaction_id, payment_reference, amount_refunded, currency,
                    occurred_at, received_at, processed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (gateway, event_id) DO NOTHING
                """, arguments: [gateway.name, event.id, event.kind.rawValue, event.transactionId, event.reference,
                                 event.amountRefunded?.minorUnits, event.amountRefunded?.currency.code,
                                 Int64(event.occurredAt.timeIntervalSince1970), received, event.kind == .other ? received : nil])
            return db.changesCount == 1
        }
        return stored ? .stored : .duplicate
    }

    // MARK: Processing

    struct StoredEvent: Sendable {
        var gateway: String
        var id: String
        var kind: GatewayWebhookEvent.Kind
        var transactionId: String?
        var reference: String?
        var amountRefunded: Money?
        var attempts: Int
    }

    /// What applying an event came to.
    enum Outcome: Equatable {
        case applied
        case nothingToDo
        /// Done with, though it could not be applied; the reason stays on the row.
        case closed(String)
        /// Not yet: tried again after a delay, the reason kept on the row meanwhile.
        case retryLater(String)
    }

    /// One pass: claims due events (a lease, so two workers never apply the same one at once),
    /// applies each, and records how it went on its row. Returns how many were claimed.
    @discardableResult
    public func runOnce(limit: Int = 50) async throws -> Int {
        let events = try await claim(limit: limit)
        for event in events {
            do {
                switch try await apply(event) {
                case .applied, .nothingToDo:
                    try await finish(event, note: nil)
                case .closed(let note):
                    logger.warning("webhook event not applied", metadata: ["gateway": "\(event.gateway)", "event": "\(event.id)", "reason": "\(note)"])
                    try await finish(event, note: note)
                case .retryLater(let reason):
                    logger.warning("webhook event postponed", metadata: ["gateway": "\(event.gateway)", "event": "\(event.id)", "reason": "\(reason)"])
                    try await failed(event, error: reason)
                }
            } catch {
                logger.error("webhook event failed", metadata: ["gateway": "\(event.gateway)", "event": "\(event.id)", "error": "\(error)"])
                try await failed(event, error: String(describing: error))
            }
        }
        return events.count
    }

    private func claim(limit: Int) async throws -> [StoredEvent] {
        let now = clock.nowSeconds()
        let lease = policy.lease
        return try await db.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM webhook_events WHERE processed_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)
                ORDER BY occurred_at, received_at LIMIT ?
                """, arguments: [now, limit])
            for row in rows {
                try db.execute(sql: "UPDATE webhook_events SET lease_until = ?, attempts = attempts + 1 WHERE gateway = ? AND event_id = ?",
                               arguments: [now + lease, row["gateway"] as String, row["event_id"] as String])
            }
            return rows.map { row in
                StoredEvent(gateway: row["gateway"], id: row["event_id"], kind: GatewayWebhookEvent.Kind(rawValue: row["kind"]) ?? .other,
                            transactionId: row["transaction_id"], reference: row["payment_reference"],
                            amountRefunded: (row["currency"] as String?).flatMap(CurrencyCode.init).map { Money(row["amount_refunded"], $0) },
                            attempts: (row["attempts"] as Int) + 1)
            }
        }
    }

    private func apply(_ event: StoredEvent) async throws -> Outcome {
        guard let payment = try await db.read({ db in try Self.payment(for: event, db) }) else {
            return .closed("no payment for transaction \(event.transactionId ?? "-") (reference \(event.reference ?? "-"))")
        }
        let now = clock.nowSeconds()
        switch event.kind {
        case .chargeSucceeded:
            guard let transactionId = event.transactionId else { return .closed("charge.succeeded without a transaction id") }
            return try await db.write { db in
                if try settlement.settle(paymentId: payment.id, .succeeded(transactionId: transactionId, authorizationCode: nil), now: now, db) {
                    return .applied
                }
                // Succeeded, refunded or voided already: the same news again. A failure recorded
                // earlier means the portal and the gateway disagree about money taken.
                if try Self.status(payment.id, db) == .failed { try conflict(event, paymentId: payment.id, status: .failed, now: now, db) }
                return .nothingToDo
            }
        case .chargeFailed:
            return try await db.write { db in
                if try settlement.settle(paymentId: payment.id, .failed(code: "card_declined", message: "The card was declined.", retryable: true),
                                         now: now, db) {
                    return .applied
                }
                // Arriving after the success (or a refund) it cannot undo: money was taken, so the payment stands.
                let status = try Self.status(payment.id, db)
                if status != .failed { try conflict(event, paymentId: payment.id, status: status, now: now, db) }
                return .nothingToDo
            }
        case .chargeRefunded:
            return try await applyRefund(event, payment, now: now)
        case .chargeDisputed:
            return try await flagDispute(event, payment, now: now)
        case .other:
            return .nothingToDo
        }
    }

    private func applyRefund(_ event: StoredEvent, _ payment: (id: String, status: PaymentStatus), now: Int64) async throws -> Outcome {
        if payment.status == .pending, let transactionId = event.transactionId {
            // Only a charge that succeeded can be refunded: the event is that news too.
            try await db.write { db in
                _ = try settlement.settle(paymentId: payment.id, .succeeded(transactionId: transactionId, authorizationCode: nil), now: now, db)
            }
        }
        // A refund the portal started is recorded as that refund (by its request, or here once it is
        // stale) before the gateway's total is compared; until then the event waits.
        try await refunds.resumeStale(paymentId: payment.id)
        var total = event.amountRefunded
        if total == nil, let gateway {
            let found = try await gateway.findTransaction(idempotencyKey: payment.id)
            if let found { total = found.amountRefunded ?? (found.status == .refunded ? found.amount : nil) }
        }
        guard let total else { return .retryLater("the gateway did not say how much of the charge is refunded") }
        return try await db.write { db in
            switch try RefundService.recordGatewayRefund(paymentId: payment.id, total: total, eventId: event.id, now: now, db) {
            case .recorded: .applied
            case .alreadyKnown: .nothingToDo
            case .refundInProgress: .retryLater("a refund of this payment is waiting for the gateway")
            }
        }
    }

    private func flagDispute(_ event: StoredEvent, _ payment: (id: String, status: PaymentStatus), now: Int64) async throws -> Outcome {
        let billingAddress = self.billingAddress
        return try await db.write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT p.*, a.name AS account_name FROM payments p JOIN accounts a ON a.id = p.account_id WHERE p.id = ?
                """, arguments: [payment.id]), row["disputed_at"] as Int64? == nil else { return .nothingToDo }
            try db.execute(sql: "UPDATE payments SET disputed_at = ?, updated_at = ? WHERE id = ?", arguments: [now, now, payment.id])
            let amount = Money(row["amount"], CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!)
            try AuditService.insert(AuditEvent(action: "payment.disputed", actorKind: .system, actorLabel: "webhooks", accountId: row["account_id"],
                                               outcome: .failure, details: ["payment": payment.id, "event": event.id, "amount": amount.plain,
                                                                            "currency": amount.currency.code, "gateway": event.gateway]),
                                    now: now, db)
            if let billingAddress {
                try MailOutbox.insert(try outbox.render(template: "payment_disputed", to: billingAddress, context: [
                    "account": row["account_name"] as String, "amount": amount.formatted, "reference": payment.id,
                    "card": PaymentSettlement.cardLabel(row) ?? "", "gateway": event.gateway,
                ]), now: now, db)
            }
            return .applied
        }
    }

    /// Keeps what the portal recorded and says so in the audit trail, for staff to check at the gateway.
    private func conflict(_ event: StoredEvent, paymentId: String, status: PaymentStatus, now: Int64, _ db: Database) throws {
        let accountId = try String.fetchOne(db, sql: "SELECT account_id FROM payments WHERE id = ?", arguments: [paymentId])
        try AuditService.insert(AuditEvent(action: "payment.webhook_conflict", actorKind: .system, actorLabel: "webhooks", accountId: accountId,
                                           outcome: .failure, details: ["payment": paymentId, "event": event.id, "kind": event.kind.rawValue,
                                                                        "status": status.rawValue, "gateway": event.gateway]),
                                now: now, db)
    }

    static func status(_ paymentId: String, _ db: Database) throws -> PaymentStatus {
        try String.fetchOne(db, sql: "SELECT status FROM payments WHERE id = ?", arguments: [paymentId]).flatMap(PaymentStatus.init(rawValue:)) ?? .pending
    }

    /// The payment an event is about: by the gateway's transaction id, or by our idempotency key
    /// (the payment's id) for a charge whose answer was lost before its transaction id was stored.
    static func payment(for event: StoredEvent, _ db: Database) throws -> (id: String, status: PaymentStatus)? {
        var row: Row?
        if let transactionId = event.transactionId {
            row = try Row.fetchOne(db, sql: "SELECT id, status FROM payments WHERE gateway = ? AND gateway_transaction_id = ?",
                                   arguments: [event.gateway, transactionId])
        }
        if row == nil, let reference = event.reference {
            row = try Row.fetchOne(db, sql: "SELECT id, status FROM payments WHERE gateway = ? AND id = ?", arguments: [event.gateway, reference])
        }
        return row.map { (id: $0["id"], status: PaymentStatus(rawValue: $0["status"]) ?? .pending) }
    }

    private func finish(_ event: StoredEvent, note: String?) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: """
                UPDATE webhook_events SET processed_at = ?, lease_until = NULL, last_error = ? WHERE gateway = ? AND event_id = ?
                """, arguments: [now, note, event.gateway, event.id])
        }
    }

    /// Tries again later with a growing delay; after `maxAttempts` the event is closed with its error.
    private func failed(_ event: StoredEvent, error: String) async throws {
        let now = clock.nowSeconds()
        let policy = self.policy
        let giveUp = event.attempts >= policy.maxAttempts
        if giveUp {
            logger.error("webhook event abandoned", metadata: ["gateway": "\(event.gateway)", "event": "\(event.id)", "attempts": "\(event.attempts)"])
        }
        try await db.write { db in
            try db.execute(sql: """
                UPDATE webhook_events SET last_error = ?, lease_until = ?, processed_at = ? WHERE gateway = ? AND event_id = ?
                """, arguments: [String(error.prefix(1000)), now + policy.delay(afterAttempt: event.attempts), giveUp ? now : nil,
                                 event.gateway, event.id])
        }
    }
}
