import Foundation
import GRDB

/// What the CRM must be told, kept in `crm_outbox` beside the change it reports: the row is
/// written in the change's own transaction (`enqueue…(…, db)`), so a payment is never recorded
/// without its news, whether the CRM is up or not. A pusher claims due rows under a lease, so two
/// workers never push one row together; a failed push is retried with exponential back-off (1 min
/// doubling to 1 h) for as long as it takes. Only a push the CRM refuses outright (a 4xx that is
/// not about the session, time-outs or throttling) ends `dead` after `deadAfter` attempts, with
/// its error kept for the dashboard.
public struct CRMOutbox: Sendable {
    public enum Topic: String, Sendable, CaseIterable {
        case paymentResult = "payment.result"
        case paymentRefund = "payment.refund"
        case invoiceLink = "invoice.link"
    }

    let db: any DatabaseWriter
    let clock: PortalClock
    /// How long a claimed row belongs to its pusher before another may take it over.
    public let leaseSeconds: Int64
    /// Attempts after which a row the CRM keeps refusing outright is given up on.
    public let deadAfter: Int

    public init(db: any DatabaseWriter, clock: PortalClock, leaseSeconds: Int64 = 300, deadAfter: Int = 5) {
        self.db = db
        self.clock = clock
        self.leaseSeconds = leaseSeconds
        self.deadAfter = max(1, deadAfter)
    }

    /// The CRM's and the portal's payment figures of the outbox's invoices.
    public var paymentFigures: CRMPaymentFigures { CRMPaymentFigures(db: db, clock: clock) }

    // MARK: Enqueueing, inside the caller's transaction

    /// One row per fact: a second enqueue with the same `dedupeKey` changes nothing. Returns whether a row was added.
    @discardableResult
    public static func enqueue(_ topic: Topic, dedupeKey: String, invoiceId: String, paymentId: String?, payload: CRMPayload,
                               now: Int64, _ db: Database) throws -> Bool {
        try db.execute(sql: """
            INSERT INTO crm_outbox (topic, dedupe_key, invoice_id, payment_id, payload, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING
            """, arguments: [topic.rawValue, dedupeKey, invoiceId, paymentId, try payload.json(), now, now])
        return db.changesCount > 0
    }

    /// A payment's final result, for each CRM invoice it is about: the invoices it paid when it
    /// succeeded, the ones it was for when it failed. Invoices the CRM did not send are skipped.
    static func enqueuePaymentResult(paymentId: String, now: Int64, _ db: Database) throws {
        guard let payment = try Row.fetchOne(db, sql: "SELECT * FROM payments WHERE id = ?", arguments: [paymentId]) else { return }
        let succeeded = (payment["status"] as String) != PaymentStatus.failed.rawValue
        let invoices = try String.fetchAll(db, sql: succeeded
            ? "SELECT pa.invoice_id FROM payment_allocations pa JOIN invoices i ON i.id = pa.invoice_id WHERE pa.payment_id = ? AND i.external_id IS NOT NULL ORDER BY i.due_date, i.id"
            : "SELECT pr.invoice_id FROM payment_requested_invoices pr JOIN invoices i ON i.id = pr.invoice_id WHERE pr.payment_id = ? AND i.external_id IS NOT NULL ORDER BY i.due_date, i.id",
            arguments: [paymentId])
        let payload = CRMPayload(payment: payment)
        for invoiceId in invoices {
            try enqueue(.paymentResult, dedupeKey: "payment.result:\(paymentId):\(invoiceId)", invoiceId: invoiceId, paymentId: paymentId,
                        payload: payload, now: now, db)
        }
    }

    /// A refund or void that took money back off these invoices.
    static func enqueueRefund(refundId: String, paymentId: String, invoiceIds: [String], now: Int64, _ db: Database) throws {
        guard let payment = try Row.fetchOne(db, sql: "SELECT * FROM payments WHERE id = ?", arguments: [paymentId]) else { return }
        var payload = CRMPayload(payment: payment)
        payload.refundId = refundId
        for invoiceId in invoiceIds {
            guard try Bool.fetchOne(db, sql: "SELECT external_id IS NOT NULL FROM invoices WHERE id = ?", arguments: [invoiceId]) == true else { continue }
            try enqueue(.paymentRefund, dedupeKey: "payment.refund:\(refundId):\(invoiceId)", invoiceId: invoiceId, paymentId: paymentId,
                        payload: payload, now: now, db)
        }
    }

    /// An invoice's payment link, to be shown on the invoice in the CRM. The row names the link, never
    /// its token: the push rebuilds the URL, so no live link sits at rest here. Each link is sent once;
    /// a new one is sent after any earlier one. `withdrawn`: the link was withdrawn, so the CRM's
    /// field is emptied (keyed by that link, so each withdrawal is sent). False when the invoice did
    /// not come from the CRM.
    @discardableResult
    public static func enqueueInvoiceLink(invoiceId: String, linkId: String, withdrawn: Bool = false, now: Int64, _ db: Database) throws -> Bool {
        guard try Bool.fetchOne(db, sql: "SELECT external_id IS NOT NULL FROM invoices WHERE id = ?", arguments: [invoiceId]) == true else {
            return false
        }
        return try enqueue(.invoiceLink, dedupeKey: "invoice.link:\(invoiceId):\(withdrawn ? "withdrawn:" : "")\(linkId)", invoiceId: invoiceId,
                           paymentId: nil, payload: withdrawn ? CRMPayload(clearsLink: true) : CRMPayload(linkId: linkId), now: now, db)
    }

    /// `enqueueInvoiceLink` in a transaction of its own, for callers that have none.
    @discardableResult
    public func enqueueInvoiceLink(invoiceId: String, linkId: String) async throws -> Bool {
        let now = clock.nowSeconds()
        return try await db.write { db in try Self.enqueueInvoiceLink(invoiceId: invoiceId, linkId: linkId, now: now, db) }
    }

    // MARK: Delivering

    /// Claims up to `limit` due rows for `leaseSeconds` (sized by the pusher to outlast its slowest
    /// send of them all). Only the oldest undelivered row of each invoice is due, so an invoice's news
    /// reaches the CRM in the order it happened. The claim's token is what `delivered` and `failed`
    /// check: once the lease runs out and another pusher claims the row, the first can no longer mark it.
    public func claim(limit: Int, leaseSeconds: Int64? = nil) async throws -> CRMOutboxClaim {
        let now = clock.nowSeconds()
        let leaseUntil = now + max(leaseSeconds ?? self.leaseSeconds, 1)
        let token = SecretToken.generate()
        return try await db.write { db in
            let ids = try Int64.fetchAll(db, sql: """
                UPDATE crm_outbox SET leased_until = ?, lease_token = ?
                WHERE id IN (SELECT o.id FROM crm_outbox o
                             WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND (o.leased_until IS NULL OR o.leased_until < ?)
                               AND NOT EXISTS (SELECT 1 FROM crm_outbox e WHERE e.invoice_id = o.invoice_id AND e.status = 'pending' AND e.id < o.id)
                             ORDER BY o.next_attempt_at, o.id LIMIT ?)
                RETURNING id
                """, arguments: [leaseUntil, token, now, now, limit])
            guard !ids.isEmpty else { return CRMOutboxClaim(token: token, items: []) }
            // A row revived after a newer one of its kind reached the CRM ("Retry now" on a dead row)
            // is superseded: its facts are older than what the CRM shows.
            let items = try Row.fetchAll(db, sql: """
                SELECT o.id, o.topic, o.invoice_id, o.payment_id, o.payload, o.attempts, i.external_id, i.currency,
                       EXISTS (SELECT 1 FROM crm_outbox n WHERE n.invoice_id = o.invoice_id AND n.id > o.id AND n.status = 'delivered'
                               AND (n.topic = 'invoice.link') = (o.topic = 'invoice.link')) AS superseded
                FROM crm_outbox o JOIN invoices i ON i.id = o.invoice_id WHERE o.id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                ORDER BY o.id
                """, arguments: StatementArguments(ids)).map(CRMOutboxItem.init(row:))
            return CRMOutboxClaim(token: token, items: items)
        }
    }

    /// The rows of `ids` this claim still holds (its lease has not been taken over or run out).
    public func held(_ ids: [Int64], lease: String) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        let now = clock.nowSeconds()
        return try await db.read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT id FROM crm_outbox WHERE status = 'pending' AND lease_token = ? AND leased_until >= ?
                  AND id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                """, arguments: [lease, now] + StatementArguments(ids)))
        }
    }

    /// Marks a row delivered if this claim still holds it, with the invoice's figures the CRM was
    /// sent (nil when the push set no amount). Returns false when the row was taken over.
    @discardableResult
    public func delivered(_ id: Int64, lease: String, pushed figures: InvoicePushFigures? = nil) async throws -> Bool {
        let now = clock.nowSeconds()
        return try await db.write { db in
            try db.execute(sql: """
                UPDATE crm_outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, leased_until = NULL, lease_token = NULL,
                    last_error = NULL
                WHERE id = ? AND status = 'pending' AND lease_token = ?
                """, arguments: [now, id, lease])
            guard db.changesCount > 0 else { return false }
            if let figures { try CRMPaymentFigures.pushed(figures, db) }
            return true
        }
    }

    /// Records a failed push and when to try again, if this claim still holds the row; a permanent
    /// refusal repeated `deadAfter` times ends the row. Returns false when the row was taken over.
    @discardableResult
    public func failed(_ id: Int64, lease: String, error: String, permanent: Bool) async throws -> Bool {
        let now = clock.nowSeconds()
        let deadAfter = deadAfter
        return try await db.write { db in
            guard let previous = try Int.fetchOne(db, sql: "SELECT attempts FROM crm_outbox WHERE id = ? AND status = 'pending' AND lease_token = ?",
                                                  arguments: [id, lease]) else { return false }
            let attempts = previous + 1
            let dead = permanent && attempts >= deadAfter
            try db.execute(sql: """
                UPDATE crm_outbox SET attempts = ?, last_error = ?, leased_until = NULL, lease_token = NULL, next_attempt_at = ?, status = ?
                WHERE id = ?
                """, arguments: [attempts, String(error.prefix(1000)), now + Self.backoff(attempts: attempts), dead ? "dead" : "pending", id])
            return true
        }
    }

    /// Seconds before the next try after `attempts` failures: 1 min, doubling, at most 1 h.
    public static func backoff(attempts: Int) -> Int64 {
        let doublings = min(max(attempts - 1, 0), 6)
        return min(Int64(60) << Int64(doublings), 3_600)
    }

    // MARK: For the dashboard

    public func backlog() async throws -> CRMOutboxBacklog {
        let now = clock.nowSeconds()
        return try await db.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT coalesce(sum(status = 'pending'), 0) AS pending, coalesce(sum(status = 'pending' AND next_attempt_at <= ?), 0) AS due,
                       coalesce(sum(status = 'pending' AND attempts > 0), 0) AS retrying, coalesce(sum(status = 'dead'), 0) AS dead,
                       coalesce(sum(status = 'delivered'), 0) AS delivered, min(CASE WHEN status = 'pending' THEN created_at END) AS oldest
                FROM crm_outbox
                """, arguments: [now])!
            return CRMOutboxBacklog(pending: row["pending"], due: row["due"], retrying: row["retrying"], dead: row["dead"],
                                    delivered: row["delivered"], oldestPendingAt: row["oldest"])
        }
    }
}

public struct CRMOutboxBacklog: Sendable, Equatable {
    public var pending: Int
    /// Pending and due now (the rest wait for their back-off).
    public var due: Int
    /// Pending after at least one failed push.
    public var retrying: Int
    public var dead: Int
    public var delivered: Int
    public var oldestPendingAt: Int64?
}

/// What one claim took: its rows and the token that proves the lease is still its own.
public struct CRMOutboxClaim: Sendable, Equatable {
    public var token: String
    public var items: [CRMOutboxItem]
}

/// A claimed row. The invoice's figures are not part of it: the pusher reads them just before
/// sending (`CRMPaymentFigures.current`), so a row delivered late still leaves the CRM agreeing with the portal.
public struct CRMOutboxItem: Sendable, Equatable {
    public var id: Int64
    public var topic: CRMOutbox.Topic
    public var invoiceId: String
    public var crmInvoiceId: String
    public var paymentId: String?
    public var payload: CRMPayload
    /// Why the stored payload could not be read; such a row is reported as refused, never pushed half-known.
    public var payloadError: String?
    public var attempts: Int
    public var currency: CurrencyCode
    /// A newer row of the same kind for this invoice has been delivered: only current figures may be sent.
    public var superseded: Bool

    init(row: Row) {
        id = row["id"]
        let storedTopic: String = row["topic"]
        // An unknown topic is refused like an unreadable payload, never pushed as some other kind of row.
        topic = CRMOutbox.Topic(rawValue: storedTopic) ?? .paymentResult
        invoiceId = row["invoice_id"]
        crmInvoiceId = row["external_id"]
        paymentId = row["payment_id"]
        do {
            payload = try JSONDecoder().decode(CRMPayload.self, from: Data((row["payload"] as String).utf8))
        } catch {
            payload = CRMPayload()
            payloadError = "the stored payload is not valid: \(error)"
        }
        if CRMOutbox.Topic(rawValue: storedTopic) == nil { payloadError = "the stored topic \"\(storedTopic)\" is not one this version knows" }
        attempts = row["attempts"]
        currency = CurrencyCode(row["currency"]) ?? CurrencyCode("XXX")!
        superseded = row["superseded"]
    }
}

/// The facts a row reports, as they were when it was written. Never a card number: brand and last 4 only.
public struct CRMPayload: Sendable, Equatable, Codable {
    public var paymentId: String?
    public var paymentStatus: String?
    public var transactionId: String?
    public var authorizationCode: String?
    public var cardBrand: String?
    public var cardLast4: String?
    public var isRecurring: Bool?
    public var errorCode: String?
    public var errorMessage: String?
    public var refundId: String?
    public var amount: Int64?
    public var currency: String?
    /// The payment link to show, by id (`PaymentLinkService.url(linkId:)` rebuilds its URL).
    public var linkId: String?
    /// The invoice's link was withdrawn: the CRM's link field is emptied.
    public var clearsLink: Bool?

    public init(linkId: String? = nil, clearsLink: Bool? = nil) {
        self.linkId = linkId
        self.clearsLink = clearsLink
    }

    init(payment row: Row) {
        paymentId = row["id"]
        paymentStatus = row["status"]
        transactionId = row["gateway_transaction_id"]
        authorizationCode = row["authorization_code"]
        cardBrand = row["method_brand"]
        cardLast4 = row["method_last4"]
        isRecurring = ["autopay", "plan"].contains(row["source"] as String? ?? "")
        errorCode = row["error_code"]
        errorMessage = row["error_message"]
        amount = row["amount"]
        currency = row["currency"]
    }

    enum CodingKeys: String, CodingKey {
        case paymentId = "payment_id", paymentStatus = "payment_status", transactionId = "transaction_id"
        case authorizationCode = "authorization_code", cardBrand = "card_brand", cardLast4 = "card_last4", isRecurring = "is_recurring"
        case errorCode = "error_code", errorMessage = "error_message", refundId = "refund_id", amount, currency, linkId = "link_id", clearsLink = "clears_link"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
