import Foundation
import GRDB

/// What can go wrong refunding or voiding. The web layer maps each to one plain sentence.
public enum RefundError: Error, Equatable, Sendable {
    case notConfigured
    case notFound
    /// Only a payment that succeeded (and is not yet wholly refunded) can be refunded.
    case notRefundable(PaymentStatus)
    /// Only a payment that succeeded and has no refunds can be voided.
    case notVoidable(PaymentStatus)
    /// More than is left to refund; carries what is left.
    case amountTooLarge(Money)
    case invalidAmount
    case reasonRequired
    /// The form's key is missing or malformed: the page must be loaded again.
    case formExpired
    /// Recorded outside the portal's card gateway, so there is no charge to refund there.
    case notAtGateway
    case gateway(String)
}

/// A refund or void as staff see it.
public struct Refund: Sendable, Equatable {
    public enum Kind: String, Sendable { case refund, void }
    public enum Status: String, Sendable { case pending, succeeded, failed }

    public var id: String
    public var paymentId: String
    public var kind: Kind
    public var amount: Money
    public var status: Status
    public var gatewayRefundId: String?
    public var reason: String
    public var actor: String
    public var errorMessage: String?
    public var createdAt: Int64
}

/// Gives money back: a refund (all or part) or a void, always through the gateway that took it.
/// The refund row is written before the gateway is called and its id is the gateway's idempotency
/// key, so a double submit (same request key) or a resumed call never refunds twice. When the
/// gateway agrees, one transaction records the payment's new state, takes the money back off its
/// invoices, and writes the audit event.
public struct RefundService: Sendable {
    let db: any DatabaseWriter
    let gateway: (any PaymentGateway)?
    let clock: PortalClock

    init(db: any DatabaseWriter, gateway: (any PaymentGateway)?, clock: PortalClock) {
        self.db = db
        self.gateway = gateway
        self.clock = clock
    }

    /// Refunds `amount` of a payment. A repeat with the same `requestKey` returns the first result.
    public func refund(paymentId: String, amount: Money, reason: String, actor: AuditEvent, requestKey: String) async throws -> Refund {
        try await perform(.refund, paymentId: paymentId, amount: amount, reason: reason, actor: actor, requestKey: requestKey)
    }

    /// Cancels a payment the gateway has not settled yet. A gateway that has already settled it
    /// refuses, and its words are passed on: refund it instead.
    public func void(paymentId: String, reason: String, actor: AuditEvent, requestKey: String) async throws -> Refund {
        try await perform(.void, paymentId: paymentId, amount: nil, reason: reason, actor: actor, requestKey: requestKey)
    }

    /// A payment's refunds and voids, oldest first, including those that failed.
    public func refunds(paymentId: String) async throws -> [Refund] {
        try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.*, p.currency FROM payment_refunds r JOIN payments p ON p.id = r.payment_id
                WHERE r.payment_id = ? ORDER BY r.created_at, r.rowid
                """, arguments: [paymentId]).map(Self.refund(from:))
        }
    }

    private func perform(_ kind: Refund.Kind, paymentId: String, amount: Money?, reason: String, actor: AuditEvent,
                         requestKey: String) async throws -> Refund {
        guard let gateway else { throw RefundError.notConfigured }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw RefundError.reasonRequired }
        guard SecretToken.isWellFormed(requestKey) else { throw RefundError.formExpired }
        let now = clock.nowSeconds()
        let reservation = try await db.write { db -> (id: String, isNew: Bool) in
            // The unique (payment, key) index decides which of two racing submits makes the refund.
            if let existing = try String.fetchOne(db, sql: "SELECT id FROM payment_refunds WHERE payment_id = ? AND request_key = ?",
                                                  arguments: [paymentId, requestKey]) {
                return (existing, false)
            }
            guard let payment = try Row.fetchOne(db, sql: "SELECT * FROM payments WHERE id = ?", arguments: [paymentId]) else {
                throw RefundError.notFound
            }
            let status = PaymentStatus(rawValue: payment["status"]) ?? .pending
            let currency = CurrencyCode(payment["currency"]) ?? CurrencyCode("XXX")!
            let total: Int64 = payment["amount"]
            let heldBack = try Self.pendingAmount(paymentId: paymentId, db)
            let amountToReturn: Int64
            switch kind {
            case .refund:
                guard status == .succeeded || status == .partiallyRefunded else { throw RefundError.notRefundable(status) }
                guard let amount, amount.currency == currency, amount.minorUnits > 0 else { throw RefundError.invalidAmount }
                let left = total - (payment["amount_refunded"] as Int64) - heldBack
                guard amount.minorUnits <= left else { throw RefundError.amountTooLarge(Money(max(left, 0), currency)) }
                amountToReturn = amount.minorUnits
            case .void:
                guard status == .succeeded, (payment["amount_refunded"] as Int64) == 0, heldBack == 0 else { throw RefundError.notVoidable(status) }
                amountToReturn = total
            }
            guard (payment["gateway"] as String?) == gateway.name, (payment["gateway_transaction_id"] as String?) != nil else {
                throw RefundError.notAtGateway
            }
            let id = OpaqueID.make(kind == .refund ? "ref" : "void")
            try db.execute(sql: """
                INSERT INTO payment_refunds (id, payment_id, kind, amount, reason, actor, request_key, status, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                """, arguments: [id, paymentId, kind.rawValue, amountToReturn, String(reason.prefix(500)), actor.actorLabel, requestKey, now])
            return (id, true)
        }
        // A repeat is shown the first submit's refund as it stands (perhaps still pending) and never
        // calls the gateway itself: a refund left without an answer is finished by the worker.
        let refund = reservation.isNew ? try await send(reservation.id, actor: actor) : try await stored(reservation.id)
        if refund.status == .failed { throw RefundError.gateway(refund.errorMessage ?? "The gateway refused.") }
        return refund
    }

    /// Asks the gateway for a pending refund or void (again, with the same key, when resumed) and
    /// records its answer. A refusal fails the row and is returned; no answer throws and leaves the
    /// row pending, its amount held back from other refunds.
    @discardableResult
    func send(_ refundId: String, actor: AuditEvent?) async throws -> Refund {
        guard let gateway else { throw RefundError.notConfigured }
        let (current, transactionId) = try await db.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT r.*, p.currency, p.gateway_transaction_id FROM payment_refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = ?
                """, arguments: [refundId])
            guard let row else { throw RefundError.notFound }
            return (Self.refund(from: row), row["gateway_transaction_id"] as String? ?? "")
        }
        guard current.status == .pending else { return current }
        let gatewayRefundId: String?
        do {
            switch current.kind {
            case .refund:
                gatewayRefundId = try await gateway.refund(transactionId: transactionId, amount: current.amount, idempotencyKey: refundId).refundId
            case .void:
                try await gateway.void(transactionId: transactionId, idempotencyKey: refundId)
                gatewayRefundId = nil
            }
        } catch let error as PaymentGatewayError {
            let message: String
            switch error {
            case .rejected(_, let text): message = text
            case .notFound: message = "The gateway has no record of this charge."
            case .idempotencyConflict: message = "The gateway already has a different request under this refund's key."
            case .unavailable, .invalidWebhookSignature, .staleWebhook:
                throw RefundError.gateway("The gateway did not answer. The \(current.kind.rawValue) is kept as pending and will be checked "
                                          + "with the gateway shortly; it will not be made twice.")
            }
            try await fail(current, message: message, actor: actor)
            return try await stored(refundId)
        }
        let now = clock.nowSeconds()
        try await db.write { db in try Self.complete(refundId, gatewayRefundId: gatewayRefundId, actor: actor, now: now, db) }
        return try await stored(refundId)
    }

    private func stored(_ refundId: String) async throws -> Refund {
        try await db.read { db in
            try Self.refund(from: try Row.fetchOne(db, sql: """
                SELECT r.*, p.currency FROM payment_refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = ?
                """, arguments: [refundId])!)
        }
    }

    /// Asks the gateway again, with the same keys, about refunds left pending longer than a request
    /// could still be waiting for its answer (the gateway did not answer, or the process stopped),
    /// and records what it says. Of one payment only, when a gateway event about its refunds
    /// needs them finished before it can compare totals.
    public func resumeStale(olderThan seconds: Int64 = 120, paymentId: String? = nil) async throws {
        let cutoff = clock.nowSeconds() - seconds
        let ids = try await db.read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM payment_refunds WHERE status = 'pending' AND created_at <= ? AND (? IS NULL OR payment_id = ?)
                ORDER BY created_at LIMIT 100
                """, arguments: [cutoff, paymentId, paymentId])
        }
        // One refund's gateway trouble must not hold up the others; the first is reported after.
        var firstError: (any Error)?
        for id in ids {
            do { try await send(id, actor: nil) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    enum GatewayRefundResult: Equatable {
        case recorded(Money)
        case alreadyKnown
        /// A refund the portal started is still waiting for the gateway: its share of the total is unknown.
        case refundInProgress
    }

    /// Records money refunded at the gateway without the portal (its dashboard, a bank's
    /// instruction): `total` is the charge's refunded total there, so only what the portal does not
    /// know yet is added, and an event older than one already applied changes nothing.
    static func recordGatewayRefund(paymentId: String, total: Money, eventId: String, now: Int64, _ db: Database) throws -> GatewayRefundResult {
        guard let payment = try Row.fetchOne(db, sql: "SELECT * FROM payments WHERE id = ?", arguments: [paymentId]),
              ["succeeded", "partially_refunded"].contains(payment["status"] as String),
              (payment["currency"] as String) == total.currency.code else { return .alreadyKnown }
        guard try pendingAmount(paymentId: paymentId, db) == 0 else { return .refundInProgress }
        let missing = min(total.minorUnits, payment["amount"] as Int64) - (payment["amount_refunded"] as Int64)
        guard missing > 0 else { return .alreadyKnown }
        let id = OpaqueID.make("ref")
        try db.execute(sql: """
            INSERT INTO payment_refunds (id, payment_id, kind, amount, reason, actor, request_key, status, created_at)
            VALUES (?, ?, 'refund', ?, 'Refunded at the gateway', 'gateway', ?, 'pending', ?)
            ON CONFLICT (payment_id, request_key) WHERE request_key IS NOT NULL DO NOTHING
            """, arguments: [id, paymentId, missing, "event:" + eventId, now])
        guard db.changesCount == 1 else { return .alreadyKnown }
        try complete(id, gatewayRefundId: nil, actor: AuditEvent(action: "", actorKind: .system, actorLabel: "gateway", details: ["event": eventId]),
                     now: now, db)
        return .recorded(Money(missing, total.currency))
    }

    private func fail(_ refund: Refund, message: String, actor: AuditEvent?) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: "UPDATE payment_refunds SET status = 'failed', error_message = ?, settled_at = ? WHERE id = ? AND status = 'pending'",
                           arguments: [String(message.prefix(500)), now, refund.id])
            guard db.changesCount == 1 else { return }
            var event = try Self.event(refund, actor: actor, db)
            event.outcome = .failure
            event.details["error"] = String(message.prefix(200))
            try AuditService.insert(event, now: now, db)
        }
    }

    // MARK: Recording

    /// Marks a pending refund done and applies it: the payment's status and refunded total, the
    /// money taken back off its invoices, and the audit event. Does nothing if it is not pending,
    /// so the request and a resumed call finishing the same refund record it once.
    static func complete(_ refundId: String, gatewayRefundId: String?, actor: AuditEvent?, now: Int64, _ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT r.*, p.currency FROM payment_refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = ? AND r.status = 'pending'
            """, arguments: [refundId]) else { return }
        let refund = refund(from: row)
        try db.execute(sql: "UPDATE payment_refunds SET status = 'succeeded', gateway_refund_id = ?, settled_at = ? WHERE id = ?",
                       arguments: [gatewayRefundId, now, refundId])
        switch refund.kind {
        case .refund:
            try db.execute(sql: """
                UPDATE payments SET amount_refunded = amount_refunded + ?,
                    status = CASE WHEN amount_refunded + ? >= amount THEN 'refunded' ELSE 'partially_refunded' END, updated_at = ?
                WHERE id = ?
                """, arguments: [refund.amount.minorUnits, refund.amount.minorUnits, now, refund.paymentId])
        case .void:
            try db.execute(sql: "UPDATE payments SET status = 'voided', updated_at = ? WHERE id = ?", arguments: [now, refund.paymentId])
        }
        let invoices = try takeBack(refund.amount.minorUnits, paymentId: refund.paymentId, now: now, db)
        var event = try event(refund, actor: actor, db)
        if !invoices.isEmpty { event.details["invoices"] = invoices.joined(separator: ",") }
        try AuditService.insert(event, now: now, db)
        try CRMOutbox.enqueueRefund(refundId: refundId, paymentId: refund.paymentId, invoiceIds: invoices, now: now, db)
    }

    /// Takes `amount` back from what the payment paid: first from any credit it left on the
    /// account (money no invoice counted on), then from its invoices, newest due first, so the
    /// oldest debt stays paid. Each invoice's balance and status follow. Returns the invoices touched.
    static func takeBack(_ amount: Int64, paymentId: String, now: Int64, _ db: Database) throws -> [String] {
        let credit = try Int64.fetchOne(db, sql: "SELECT unapplied_amount FROM payments WHERE id = ?", arguments: [paymentId]) ?? 0
        let fromCredit = min(credit, amount)
        if fromCredit > 0 {
            try db.execute(sql: "UPDATE payments SET unapplied_amount = unapplied_amount - ? WHERE id = ?", arguments: [fromCredit, paymentId])
        }
        var remaining = amount - fromCredit
        var touched: [String] = []
        let allocations = try Row.fetchAll(db, sql: """
            SELECT pa.invoice_id, pa.amount FROM payment_allocations pa JOIN invoices i ON i.id = pa.invoice_id
            WHERE pa.payment_id = ? ORDER BY i.due_date DESC, i.id DESC
            """, arguments: [paymentId])
        for allocation in allocations where remaining > 0 {
            let invoiceId: String = allocation["invoice_id"]
            let part = min(remaining, allocation["amount"] as Int64)
            if part == (allocation["amount"] as Int64) {
                try db.execute(sql: "DELETE FROM payment_allocations WHERE payment_id = ? AND invoice_id = ?", arguments: [paymentId, invoiceId])
            } else {
                try db.execute(sql: "UPDATE payment_allocations SET amount = amount - ? WHERE payment_id = ? AND invoice_id = ?",
                               arguments: [part, paymentId, invoiceId])
            }
            // A void or draft invoice keeps its status (the CRM decides those); its figures still follow the money.
            try db.execute(sql: """
                UPDATE invoices SET amount_paid = amount_paid - ?, balance = balance + ?,
                    status = CASE WHEN status IN ('void', 'draft') THEN status WHEN amount_paid - ? > 0 THEN 'partially_paid' ELSE 'open' END,
                    updated_at = ?
                WHERE id = ?
                """, arguments: [part, part, part, now, invoiceId])
            touched.append(invoiceId)
            remaining -= part
        }
        return touched
    }

    /// Money held back by refunds the gateway has not answered yet.
    static func pendingAmount(paymentId: String, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(sum(amount), 0) FROM payment_refunds WHERE payment_id = ? AND status = 'pending'",
                           arguments: [paymentId]) ?? 0
    }

    /// The audit event for a refund; without the requester's own event (a resumed call), the worker
    /// records it and names who asked.
    static func event(_ refund: Refund, actor: AuditEvent?, _ db: Database) throws -> AuditEvent {
        var event = actor ?? AuditEvent(action: "", actorKind: .system, actorLabel: "payments", details: ["requested_by": refund.actor])
        event.action = refund.kind == .refund ? "payment.refund" : "payment.void"
        event.accountId = try String.fetchOne(db, sql: "SELECT account_id FROM payments WHERE id = ?", arguments: [refund.paymentId])
        event.details.merge(["payment": refund.paymentId, "refund": refund.id, "amount": refund.amount.plain,
                             "currency": refund.amount.currency.code, "reason": refund.reason]) { _, new in new }
        return event
    }

    static func refund(from row: Row) -> Refund {
        let currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        return Refund(id: row["id"], paymentId: row["payment_id"], kind: Refund.Kind(rawValue: row["kind"]) ?? .refund,
                      amount: Money(row["amount"], currency), status: Refund.Status(rawValue: row["status"]) ?? .pending,
                      gatewayRefundId: row["gateway_refund_id"], reason: row["reason"], actor: row["actor"],
                      errorMessage: row["error_message"], createdAt: row["created_at"])
    }
}
