import Crypto
import Foundation
import GRDB

/// `/pay/{token}` links: one invoice each, signed (HMAC-SHA256 with a rotatable key), expiring and
/// revocable. The token is `{key id}.{link id}.{signature}`; the signature covers the link id, its
/// invoice and its expiry, so no part can be changed or swapped with another link's. Only the link
/// row is stored, never the token, which is rebuilt from the row when a valid link is handed out again.
public struct PaymentLinkService: Sendable {
    let db: any DatabaseWriter
    public let keys: PaymentLinkKeys
    let links: LinkBuilder
    let clock: PortalClock
    public let policy: PaymentLinkPolicy

    init(db: any DatabaseWriter, secrets: SecretBox, links: LinkBuilder, clock: PortalClock, policy: PaymentLinkPolicy) {
        self.db = db
        self.keys = PaymentLinkKeys(db: db, secrets: secrets, clock: clock)
        self.links = links
        self.clock = clock
        self.policy = policy
    }

    /// The invoice's current valid link, or a new one. `invoiceId` is the portal's id or the CRM's
    /// `Invoice.Id`. `actor` authors the audit event of a new link: the system (the CRM pass, an API
    /// key, the CLI) or finance and admin staff; anyone else is refused.
    public func issue(invoiceId: String, actor: AuditEvent) async throws -> IssuedPaymentLink {
        let now = clock.nowSeconds()
        let today = CalendarDate(clock.now())
        return try await db.write { db in
            switch actor.actorKind {
            case .system: break
            case .staff:
                guard try StaffPermission.holder(of: actor, allowed: { $0.includes(.finance) }, db) != nil else { throw PaymentLinkError.notAllowed }
            case .customer, .anonymous: throw PaymentLinkError.notAllowed
            }
            // The portal id first, then the CRM's in any case; each lookup is one index search.
            let columns = "SELECT id, account_id, number, issue_date, due_date, currency, total, balance, status FROM invoices"
            guard let row = try Row.fetchOne(db.cachedStatement(sql: columns + " WHERE id = ? AND status != 'draft'"), arguments: [invoiceId])
                    ?? Row.fetchOne(db.cachedStatement(sql: columns + " WHERE external_id = ? COLLATE NOCASE AND status != 'draft' LIMIT 1"),
                                    arguments: [invoiceId])
            else { throw PaymentLinkError.invoiceNotFound }
            let invoice = InvoiceService.summary(row, today: today)
            guard [.open, .partiallyPaid].contains(invoice.status), invoice.balance.minorUnits > 0 else {
                throw PaymentLinkError.invoiceNotPayable(invoice.number)
            }
            if let live = try Row.fetchOne(db, sql: Self.liveLinks(of: "?") + " ORDER BY l.expires_at DESC LIMIT 1", arguments: [invoice.id, now]) {
                let id: String = live["id"]
                let expiresAt: Int64 = live["expires_at"]
                guard let key = try keys.key(id: live["key_id"], db) else { throw PaymentLinkError.unknownKey }
                let token = Self.token(keyId: live["key_id"], linkId: id, invoiceId: invoice.id, expiresAt: expiresAt, key: key.key)
                return IssuedPaymentLink(id: id, invoiceId: invoice.id, url: links.absolute(SitePath.paymentLink(token)),
                                         expiresAt: expiresAt, reused: true)
            }
            let key = try keys.current(now: now, db)
            let id = OpaqueID.make("pl")
            let expiresAt = policy.expiry(issueDate: invoice.issueDate, dueDate: invoice.dueDate, now: now)
            try db.execute(sql: """
                INSERT INTO payment_links (id, invoice_id, key_id, expires_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [id, invoice.id, key.id, expiresAt, now, String(actor.actorLabel.prefix(200))])
            var event = actor
            event.action = "payment_link.issue"
            event.accountId = invoice.accountId
            event.details.merge(["invoice": invoice.id, "number": invoice.number, "link": id, "expires_at": String(expiresAt)]) { _, new in new }
            try AuditService.insert(event, now: now, db)
            let token = Self.token(keyId: key.id, linkId: id, invoiceId: invoice.id, expiresAt: expiresAt, key: key.key)
            let url = links.absolute(SitePath.paymentLink(token))
            // The CRM shows the invoice's link: a new one is sent with the transaction that made it.
            try CRMOutbox.enqueueInvoiceLink(invoiceId: invoice.id, linkId: id, now: now, db)
            return IssuedPaymentLink(id: id, invoiceId: invoice.id, url: url, expiresAt: expiresAt, reused: false)
        }
    }

    /// The link's invoice, if the link may be used to pay it now; otherwise why not.
    public func verify(_ token: String) async throws -> VerifiedPaymentLink {
        let link = try await inspect(token)
        switch link.state {
        case .payable: return link
        case .processing: throw PaymentLinkError.processing
        case .paid: throw PaymentLinkError.paid
        case .void: throw PaymentLinkError.void
        case .expired: throw PaymentLinkError.expired
        case .revoked: throw PaymentLinkError.revoked
        }
    }

    /// Any genuine link and its state (for the receipt after paying, and the pages that explain
    /// a used-up link). Unknown, malformed or tampered tokens are all `invalid`, alike.
    public func inspect(_ token: String) async throws -> VerifiedPaymentLink {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 200, parts.count == 3, let keyId = Int64(parts[0]), keyId > 0,
              String(keyId) == parts[0] else { throw PaymentLinkError.invalid }
        let signature = Array(parts[2].utf8)
        let linkId = String(parts[1])
        let now = clock.nowSeconds()
        let today = CalendarDate(clock.now())
        return try await db.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT l.id AS link_id, l.key_id, l.expires_at, l.revoked_at, a.name AS account_name,
                    i.id, i.account_id, i.number, i.issue_date, i.due_date, i.currency, i.total, i.balance, i.status
                FROM payment_links l JOIN invoices i ON i.id = l.invoice_id JOIN accounts a ON a.id = i.account_id
                WHERE l.id = ? AND l.key_id = ? AND i.status != 'draft'
                """, arguments: [linkId, keyId]),
                  let key = try keys.key(id: keyId, db) else { throw PaymentLinkError.invalid }
            let invoice = InvoiceService.summary(row, today: today)
            let expiresAt: Int64 = row["expires_at"]
            let expected = Self.signature(linkId: linkId, invoiceId: invoice.id, expiresAt: expiresAt, key: key.key)
            guard constantTimeEquals(signature, Array(Base64URL.encode(expected).utf8)) else { throw PaymentLinkError.invalid }
            let state: VerifiedPaymentLink.State
            var pendingPaymentId: String?
            let pending = try PaymentService.pendingPayment(invoiceId: invoice.id, db)
            let pendingThroughLink = try pending.map {
                try String.fetchOne(db, sql: "SELECT payment_link_id FROM payments WHERE id = ?", arguments: [$0]) == linkId
            } ?? false
            if (row["revoked_at"] as Int64?) != nil || key.retired {
                state = .revoked
            } else if invoice.status == .void {
                state = .void
            } else if invoice.status == .paid || invoice.balance.minorUnits <= 0 {
                state = .paid
            } else if pending != nil, pendingThroughLink || expiresAt > now {
                // Even past expiry, a payer in the middle of their bank's confirmation still finds their payment.
                state = .processing
                pendingPaymentId = pendingThroughLink ? pending : nil
            } else if expiresAt <= now {
                state = .expired
            } else {
                state = .payable
            }
            return VerifiedPaymentLink(id: linkId, invoice: invoice, accountName: row["account_name"], expiresAt: expiresAt, state: state,
                                       pendingPaymentId: pendingPaymentId,
                                       scope: CustomerScope(paymentLink: linkId, invoiceId: invoice.id, accountId: invoice.accountId))
        }
    }

    /// Stops every live link of an invoice (finance or admin staff, with a reason) and tells the CRM
    /// to clear the invoice's link. None is issued for it again automatically
    /// (`issueMissingForCRMInvoices`) until someone issues one. Returns how many were revoked.
    @discardableResult
    public func revoke(invoiceId: String, reason: String, actor: AuditEvent) async throws -> Int {
        guard let reason = StaffPermission.reason(reason) else { throw PaymentLinkError.reasonRequired }
        let now = clock.nowSeconds()
        return try await db.write { db in
            guard try StaffPermission.holder(of: actor, allowed: { $0.includes(.finance) }, db) != nil else { throw PaymentLinkError.notAllowed }
            guard let accountId = try String.fetchOne(db, sql: "SELECT account_id FROM invoices WHERE id = ?", arguments: [invoiceId]) else {
                throw PaymentLinkError.invoiceNotFound
            }
            let ids = try String.fetchAll(db, sql: "SELECT id FROM payment_links WHERE invoice_id = ? AND revoked_at IS NULL AND expires_at > ?",
                                          arguments: [invoiceId, now])
            let newest = try String.fetchOne(db, sql: """
                SELECT id FROM payment_links WHERE invoice_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT 1
                """, arguments: [invoiceId])
            try db.execute(sql: "UPDATE payment_links SET revoked_at = ?, revoked_by = ? WHERE invoice_id = ? AND revoked_at IS NULL",
                           arguments: [now, String(actor.actorLabel.prefix(200)), invoiceId])
            // The CRM's link field is emptied, so nobody is sent there to a link that no longer works.
            if let newest { try CRMOutbox.enqueueInvoiceLink(invoiceId: invoiceId, linkId: newest, withdrawn: true, now: now, db) }
            var event = actor
            event.action = "payment_link.revoke"
            event.accountId = accountId
            event.details.merge(["invoice": invoiceId, "links": ids.joined(separator: " "), "reason": reason]) { _, new in new }
            try AuditService.insert(event, now: now, db)
            return ids.count
        }
    }

    /// Gives every payable invoice from the CRM that has no live link one (at most `limit` a call,
    /// oldest first), so each invoice Creatio shows has a payment URL. An invoice whose newest link
    /// was withdrawn by staff is left alone: they stopped online payment of it (a dispute, a wrong
    /// recipient) until they issue a new link themselves. Returns how many were issued.
    public func issueMissingForCRMInvoices(limit: Int, actor: AuditEvent) async throws -> Int {
        let now = clock.nowSeconds()
        let ids = try await db.read { db in
            try String.fetchAll(db, sql: """
                SELECT i.id FROM invoices i
                WHERE i.external_id IS NOT NULL AND i.status IN ('open', 'partially_paid') AND i.balance > 0
                  AND NOT EXISTS (\(Self.liveLinks(of: "i.id")))
                  -- rowid: links made in the same second are still told apart in the order they were made.
                  AND (SELECT n.revoked_at FROM payment_links n WHERE n.invoice_id = i.id ORDER BY n.created_at DESC, n.rowid DESC LIMIT 1) IS NULL
                ORDER BY i.created_at, i.id LIMIT ?
                """, arguments: [now, limit])
        }
        var issued = 0
        for id in ids {
            do {
                if try await !issue(invoiceId: id, actor: actor).reused { issued += 1 }
            } catch PaymentLinkError.invoiceNotPayable {
                continue  // paid or voided since the read above
            }
        }
        return issued
    }

    /// The invoice's live link, if any.
    public func current(invoiceId: String) async throws -> (id: String, expiresAt: Int64)? {
        let now = clock.nowSeconds()
        return try await db.read { db in
            try Row.fetchOne(db, sql: Self.liveLinks(of: "?") + " ORDER BY l.expires_at DESC LIMIT 1",
                             arguments: [invoiceId, now]).map { ($0["id"], $0["expires_at"]) }
        }
    }

    /// The URL of a link that may still be used (not revoked or expired, its key not retired), by
    /// id; nil otherwise. The CRM push rebuilds a link's URL with this, so no token is stored.
    public func url(linkId: String) async throws -> String? {
        let now = clock.nowSeconds()
        return try await db.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT l.key_id, l.invoice_id, l.expires_at FROM payment_links l JOIN payment_link_keys k ON k.id = l.key_id
                WHERE l.id = ? AND l.revoked_at IS NULL AND l.expires_at > ? AND k.retired_at IS NULL
                """, arguments: [linkId, now]),
                  let key = try keys.key(id: row["key_id"], db) else { return nil }
            let token = Self.token(keyId: row["key_id"], linkId: linkId, invoiceId: row["invoice_id"], expiresAt: row["expires_at"], key: key.key)
            return links.absolute(SitePath.paymentLink(token))
        }
    }

    /// The links of an invoice that still open it (not withdrawn, not expired, their key not
    /// retired): `id`, `key_id`, `expires_at`. `invoice` is an SQL expression (`?` or a column);
    /// the one argument after it is the current time.
    static func liveLinks(of invoice: String) -> String {
        """
        SELECT l.id, l.key_id, l.expires_at FROM payment_links l JOIN payment_link_keys k ON k.id = l.key_id
        WHERE l.invoice_id = \(invoice) AND l.revoked_at IS NULL AND l.expires_at > ? AND k.retired_at IS NULL
        """
    }

    // MARK: Signing

    static func token(keyId: Int64, linkId: String, invoiceId: String, expiresAt: Int64, key: SymmetricKey) -> String {
        "\(keyId).\(linkId).\(Base64URL.encode(signature(linkId: linkId, invoiceId: invoiceId, expiresAt: expiresAt, key: key)))"
    }

    static func signature(linkId: String, invoiceId: String, expiresAt: Int64, key: SymmetricKey) -> [UInt8] {
        let message = "payment-link:v1\n\(linkId)\n\(invoiceId)\n\(expiresAt)"
        return Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }
}
