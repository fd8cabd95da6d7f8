import Foundation
import GRDB
import Testing
@testable import PortalCore

/// The integration page's reads and the outbox actions, against real SQLite.
@Suite struct IntegrationServiceTests {
    /// A row whose topic this version does not know is refused like an unreadable payload, never
    /// pushed as a payment result.
    @Test func anUnknownOutboxTopicIsReportedNotGuessed() async throws {
        let t = try await TestServices()
        let acme = try await t.services.directory.upsertAccount(name: "Acme")
        let invoice = try await t.invoice(acme, number: "INV-7")
        try await t.database.pool.write { try $0.execute(sql: "UPDATE invoices SET external_id = 'crm-7' WHERE id = ?", arguments: [invoice]) }
        let known = try await t.outboxRow(invoice, topic: "payment.refund")
        let unknown = try await t.outboxRow(invoice, topic: "payment.chargeback")
        t.clock.advance(by: 3_601)
        // One row per invoice is due at a time: the known one first, then the other.
        let first = try await t.services.crmOutbox.claim(limit: 10)
        #expect(first.items.map(\.id) == [known] && first.items[0].payloadError == nil)
        #expect(try await t.services.crmOutbox.delivered(known, lease: first.token))
        let second = try await t.services.crmOutbox.claim(limit: 10)
        #expect(second.items.map(\.id) == [unknown])
        #expect(second.items.first?.payloadError?.contains("\"payment.chargeback\"") == true)
    }

    @Test func statusShowsPullsPushesFailuresAndTheBacklog() async throws {
        let t = try await TestServices()
        let integration = t.services.integration
        let start = t.clock.clock.nowSeconds()
        try await t.syncCursor("Account", lastPullAt: start - 600, pulled: 4)
        try await t.syncCursor("Invoice", lastPullAt: start - 120, pulled: 9, failed: 2)
        try await t.syncFailures(2)
        let acme = try await t.services.directory.upsertAccount(name: "Acme")
        let invoice = try await t.invoice(acme, number: "INV-9")
        try await t.outboxRow(invoice, status: "delivered", createdAt: start - 900, deliveredAt: start - 800)
        try await t.outboxRow(invoice, createdAt: start - 300)
        try await t.outboxRow(invoice, topic: "invoice.link", status: "dead", attempts: 12, createdAt: start - 1000, lastError: "HTTP 500")

        let status = try await integration.status()
        #expect(status.pulls.map(\.entity) == ["Account", "Contact", "Invoice", "InvoiceProduct"])
        #expect(status.pulls[0].lagSeconds == 600 && status.pulls[0].pulled == 4)
        #expect(status.pulls[1].lastPullAt == nil)
        #expect(status.pulls[2].openFailures == 2 && status.pulls[2].failed == 2)
        #expect(status.syncLagSeconds == 600, "the slowest entity's lag")
        #expect(status.pushes.map(\.topic) == ["payment.result", "payment.refund", "invoice.link"])
        #expect(status.pushes[0].delivered == 1 && status.pushes[0].pending == 1 && status.pushes[0].lastDeliveredAt == start - 800)
        #expect(status.pushes[0].oldestPendingSeconds == 300)
        #expect(status.pushes[2].dead == 1)
        #expect(status.pendingCount == 1 && status.deadCount == 1 && status.oldestPendingSeconds == 300)
        #expect(status.outbox.map(\.status) == ["dead", "pending"])
        #expect(status.outbox[0].lastError == "HTTP 500" && status.outbox[0].invoiceNumber == "INV-9")
        #expect(status.failures.count == 2 && status.openFailureCount == 2)
        #expect(!integration.configured)
    }

    @Test func retryNowMakesRowsDueLeavesLeasedOnesAndIsAudited() async throws {
        let t = try await TestServices()
        let integration = t.services.integration
        let finance = t.actor(try await t.staffMember("fin@example.com", role: .finance))
        let support = t.actor(try await t.staffMember("sup@example.com", role: .support))
        let acme = try await t.services.directory.upsertAccount(name: "Acme")
        let invoice = try await t.invoice(acme, number: "INV-9")
        let now = t.clock.clock.nowSeconds()
        let dead = try await t.outboxRow(invoice, status: "dead", attempts: 12, lastError: "HTTP 500")
        let leased = try await t.outboxRow(invoice, leasedUntil: now + 60)
        let pending = try await t.outboxRow(invoice)
        let delivered = try await t.outboxRow(invoice, status: "delivered", deliveredAt: now)

        await #expect(throws: IntegrationError.notPermitted) { try await integration.retryOutbox(id: dead, actor: support) }
        try await integration.retryOutbox(id: dead, actor: finance)
        let row = try await t.database.pool.read { db -> (String, Int64, Int)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT status, next_attempt_at, attempts FROM crm_outbox WHERE id = ?", arguments: [dead]) else {
                return nil
            }
            return (row["status"], row["next_attempt_at"], row["attempts"])
        }
        #expect(row?.0 == "pending" && row?.1 == now && row?.2 == 12)
        await #expect(throws: IntegrationError.notFound) { try await integration.retryOutbox(id: leased, actor: finance) }
        await #expect(throws: IntegrationError.notFound) { try await integration.retryOutbox(id: delivered, actor: finance) }
        #expect(try await integration.retryAllOutbox(actor: finance) == 2, "the dead row (now pending) and the pending one, not the leased one")
        _ = pending
        let events = try await t.services.audit.events(action: "integration.outbox_retry")
        #expect(events.count == 1 && events[0].actorLabel == "fin@example.com" && events[0].details["id"] == String(dead))
        #expect(try await t.services.audit.events(action: "integration.outbox_retry_all").first?.details["rows"] == "2")
    }

    @Test func reprocessingNeedsACRMConnection() async throws {
        let t = try await TestServices()
        let finance = t.actor(try await t.staffMember("fin@example.com", role: .finance))
        await #expect(throws: IntegrationError.notConfigured) { try await t.services.integration.reprocessAll(actor: finance) }
    }
}
