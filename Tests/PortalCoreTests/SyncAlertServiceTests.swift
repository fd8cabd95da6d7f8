import Foundation
import GRDB
import Testing
@testable import PortalCore

/// Alerts: each condition opens an incident that is emailed once, however often the worker checks,
/// and again only after it cleared and came back.
@Suite struct SyncAlertServiceTests {
    func alerts(_ t: TestServices, address: String? = "ops@example.com") -> SyncAlertService {
        SyncAlertService(db: t.database.pool, clock: t.clock.clock, outbox: t.services.outbox, links: t.services.links,
                         policy: SyncAlertPolicy(address: address, failureThreshold: 3, stallMinutes: 30))
    }

    func mails(_ t: TestServices) async throws -> [QueuedMail] {
        try await t.services.outbox.all().filter { $0.message.to == "ops@example.com" }
    }

    @Test func failuresAtTheThresholdAreToldOncePerIncident() async throws {
        let t = try await TestServices()
        let alerts = alerts(t)
        try await t.syncFailures(2)
        #expect(try await alerts.check() == .init())
        try await t.syncFailures(1, entity: "Account")
        #expect(try await alerts.check().opened == [.syncFailures])
        for _ in 0..<3 { #expect(try await alerts.check() == .init()) }
        var sent = try await mails(t)
        #expect(sent.count == 1)
        #expect(sent[0].message.textBody.contains("3 CRM records failed to import") && sent[0].message.textBody.contains("https://portal.test/staff/integration"))

        try await t.resolveSyncFailures()
        #expect(try await alerts.check().cleared == [.syncFailures])
        #expect(try await alerts.check() == .init())
        try await t.syncFailures(3, entity: "InvoiceProduct")
        #expect(try await alerts.check().opened == [.syncFailures])
        sent = try await mails(t)
        #expect(sent.count == 2, "told again when it recurs")
    }

    @Test func aStalledPullIsToldButASyncThatNeverRanIsNot() async throws {
        let t = try await TestServices()
        let alerts = alerts(t)
        t.clock.advance(by: 7200)
        #expect(try await alerts.check() == .init(), "no cursor: the sync is not set up")
        try await t.syncCursor("Account", lastPullAt: t.clock.clock.nowSeconds())
        t.clock.advance(by: 29 * 60)
        #expect(try await alerts.check() == .init())
        t.clock.advance(by: 60)
        #expect(try await alerts.check().opened == [.syncStalled])
        t.clock.advance(by: 3600)
        #expect(try await alerts.check() == .init())
        #expect(try await mails(t).count == 1)
        #expect(try await mails(t)[0].message.textBody.contains("No successful pull of Account records from Creatio for 30 minutes"))
        try await t.syncCursor("Account", lastPullAt: t.clock.clock.nowSeconds())
        #expect(try await alerts.check().cleared == [.syncStalled])
    }

    @Test func anEntityStuckBehindOthersThatSucceedIsAStall() async throws {
        let t = try await TestServices()
        let alerts = alerts(t)
        try await t.syncCursor("Invoice", lastPullAt: t.clock.clock.nowSeconds())
        for _ in 0..<4 {
            t.clock.advance(by: 10 * 60)
            try await t.syncCursor("Account", lastPullAt: t.clock.clock.nowSeconds())
            try await t.syncCursor("Contact", lastPullAt: t.clock.clock.nowSeconds())
        }
        #expect(try await alerts.check().opened == [.syncStalled], "the Account pull succeeds every pass; the Invoice pull has not for 40 minutes")
        #expect(try await mails(t)[0].message.textBody.contains("No successful pull of Invoice records from Creatio for 40 minutes"))
        #expect(try await t.services.integration.status().syncLagSeconds == 40 * 60)
        try await t.syncCursor("Invoice", lastPullAt: t.clock.clock.nowSeconds())
        #expect(try await alerts.check().cleared == [.syncStalled])
    }

    @Test func deadAndLatePushesAreTold() async throws {
        let t = try await TestServices()
        let alerts = alerts(t)
        let acme = try await t.services.directory.upsertAccount(name: "Acme")
        let invoice = try await t.invoice(acme, number: "INV-1")
        let late = try await t.outboxRow(invoice)
        #expect(try await alerts.check() == .init())
        try await t.outboxRow(invoice, status: "dead", attempts: 12, lastError: "Creatio answered 500")
        t.clock.advance(by: 30 * 60)
        let both = try await alerts.check()
        #expect(Set(both.opened) == [.outboxDead, .outboxLate])
        let sent = try await mails(t)
        #expect(sent.count == 1, "one email names every incident opened in one check")
        #expect(sent[0].message.textBody.contains("1 update(s) for the CRM gave up") && sent[0].message.textBody.contains("has waited 30 minutes"))
        try await t.database.pool.write { db in try db.execute(sql: "UPDATE crm_outbox SET status = 'delivered' WHERE id = ?", arguments: [late]) }
        #expect(try await alerts.check().cleared == [.outboxLate])
        #expect(try await mails(t).count == 1)
    }

    @Test func withoutAnAddressNothingIsChecked() async throws {
        let t = try await TestServices()
        try await t.syncFailures(5)
        #expect(try await alerts(t, address: nil).check() == .init())
        #expect(try await t.database.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM integration_alert_incidents") } == 0)
    }
}
