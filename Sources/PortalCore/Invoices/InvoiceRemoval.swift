import GRDB

/// What became of a portal invoice whose CRM record was deleted.
public enum InvoiceRemoval: Sendable, Equatable {
    /// Nothing was paid on it: it is void, so nobody is asked to pay it.
    case voided
    /// Already void or never shown; nothing changed.
    case unchanged
    /// Money has moved against it here: it is kept as it is for staff to settle with the CRM.
    case keptWithPayments
}

extension InvoiceService {
    /// The CRM ids of the invoices from the CRM that are not void: a void one (cancelled in the CRM,
    /// or already found deleted there) has nothing left for a deletion to change.
    public func liveExternalIds() async throws -> Set<String> {
        try await db.read { db in
            Set(try String.fetchAll(db, sql: "SELECT external_id FROM invoices WHERE external_id IS NOT NULL AND status != 'void'"))
        }
    }

    /// The CRM ids of every invoice line that came from the CRM, with their invoice's CRM id.
    public func externalLineIds() async throws -> [String: String] {
        try await db.read { db in
            var lines: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT l.external_id, i.external_id AS invoice FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
                WHERE l.external_id IS NOT NULL AND i.external_id IS NOT NULL
                """) { lines[row["external_id"]] = row["invoice"] }
            return lines
        }
    }

    /// Voids invoices deleted in the CRM, unless a payment (of any state) touches them: those stay as
    /// they are, because voiding would hide money that moved.
    public func removedFromCRM(externalIds: [String]) async throws -> [String: InvoiceRemoval] {
        let now = clock.nowSeconds()
        return try await db.write { db in
            var outcomes: [String: InvoiceRemoval] = [:]
            for externalId in externalIds {
                guard let row = try Row.fetchOne(db, sql: "SELECT id, account_id, number, status, amount_paid FROM invoices WHERE external_id = ?",
                                                 arguments: [externalId]) else { continue }
                let id: String = row["id"]
                let touched = try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM payment_allocations WHERE invoice_id = ?)
                        OR EXISTS (SELECT 1 FROM payment_requested_invoices r JOIN payments p ON p.id = r.payment_id
                                   WHERE r.invoice_id = ? AND p.status NOT IN ('failed', 'voided'))
                    """, arguments: [id, id]) ?? true
                let status: String = row["status"]
                if touched || (row["amount_paid"] as Int64) != 0 {
                    outcomes[externalId] = .keptWithPayments
                } else if status == InvoiceStatus.void.rawValue || status == InvoiceStatus.draft.rawValue {
                    outcomes[externalId] = .unchanged
                } else {
                    try db.execute(sql: "UPDATE invoices SET status = 'void', balance = 0, updated_at = ? WHERE id = ?", arguments: [now, id])
                    try AuditService.insert(AuditEvent(action: "invoice.void", actorKind: .system, actorLabel: "CRM sync", accountId: row["account_id"],
                                                       details: ["invoice": id, "number": row["number"], "reason": "deleted in the CRM"]), now: now, db)
                    outcomes[externalId] = .voided
                }
            }
            return outcomes
        }
    }
}
