import Foundation
import Gateways
import GRDB
import Testing
@testable import CreatioSync
@testable import PortalCore

/// The staff console's reprocessing and the reconciliation's CRM side, against the simulator.
@Suite struct CreatioIntegrationControlTests {
    static let ghost = "6f0c5d07-0000-4000-8000-000000000001"

    func integration(_ h: SyncHarness) -> IntegrationService {
        IntegrationService(db: h.pool, clock: .system, control: CreatioIntegrationControl(sync: h.sync()))
    }

    func finance(_ h: SyncHarness) async throws -> AuditEvent {
        let member = try await DirectoryService(db: h.pool, hasher: PasswordHasher(testingParameters: .init(memoryKiB: 1024, iterations: 1, parallelism: 1)),
                                                clock: .system)
            .createStaff(email: "fin@example.com", name: "Fin", role: .finance, password: "staff correct horse battery",
                         actor: AuditEvent(action: "staff.create", actorKind: .system))
        return .staffActor(member, client: ClientInfo(address: "10.0.0.1"))
    }

    @Test func aRecordThatFailedForItsMissingAccountImportsAfterTheAccountAppears() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let orphan = await h.invoice("INV-ORPHAN", account: Self.ghost, amount: "5.00")
            let orphan2 = await h.invoice("INV-ORPHAN-2", account: Self.ghost, amount: "7.00")
            let numberless = await h.invoice("", account: acme, amount: "5.00")
            let sync = h.sync()
            #expect(await sync.runOnce()["Invoice"]?.failed == 3)
            let actor = try await finance(h)
            let integration = integration(h)

            let early = try await integration.reprocess(entity: "Invoice", crmId: orphan, actor: actor)
            #expect(early.error == "account \(Self.ghost) has not been synced")

            // The account appears in Creatio and an Account pull brings it in.
            await h.simulator.seed("Account", ["Id": .string(Self.ghost), "Name": "Ghost Ltd"])
            let pulled = await sync.pull("Account", select: CreatioSyncService.accountColumns) { page in { try await sync.importAccounts(page) } }
            #expect(pulled.imported == 1 && pulled.error == nil)

            let one = try await integration.reprocess(entity: "Invoice", crmId: orphan, actor: actor)
            #expect(one == ReprocessOutcome(entity: "Invoice", crmId: orphan, error: nil))
            #expect(try await h.invoiceRow(crmId: orphan) != nil)
            #expect(try await h.invoiceRow(crmId: orphan2) == nil, "one means one")
            await #expect(throws: IntegrationError.notFound) { try await integration.reprocess(entity: "Invoice", crmId: orphan, actor: actor) }

            let all = try await integration.reprocessAll(actor: actor)
            #expect(Set(all.filter(\.imported).map(\.crmId)) == [orphan2])
            #expect(all.filter { !$0.imported }.map(\.crmId) == [numberless])
            #expect(all.first { $0.crmId == numberless }?.error == "invoice number is empty")
            #expect(try await h.invoiceRow(crmId: orphan2) != nil)
            let open = try await sync.failures().filter { !$0.resolved }.map(\.crmId)
            #expect(open == [numberless])

            let audited = try await AuditService(db: h.pool, clock: .system).events(action: "integration.reprocess")
            #expect(audited.map(\.outcome) == [.success, .failure])
            #expect(try await AuditService(db: h.pool, clock: .system).events(action: "integration.reprocess_all").first?.details["imported"] == "1")
        }
    }

    @Test func aRecordGoneFromCreatioSaysSo() async throws {
        try await SyncHarness.run { h in
            let gone = "6f0c5d07-0000-4000-8000-0000000000ff"
            try await h.pool.write { db in
                try db.execute(sql: "INSERT INTO sync_failures (entity, crm_id, error, first_seen_at, last_seen_at) VALUES ('Invoice', ?, 'x', 1, 1)",
                               arguments: [gone])
            }
            let outcome = try await integration(h).reprocess(entity: "Invoice", crmId: gone, actor: try await finance(h))
            #expect(outcome.error == "the record is no longer in Creatio")
        }
    }

    @Test func theCRMSideOfTheReconciliation() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let agrees = await h.invoice("INV-1", account: acme, amount: "50.00",
                                         extra: ["PaymentAmount": .number("50.00"), "PaymentStatusId": .string(CreatioPaymentStatus.paid)])
            let differs = await h.invoice("INV-2", account: acme, amount: "80.00",
                                          extra: ["PaymentAmount": .number("30.00"), "PaymentStatusId": .string(CreatioPaymentStatus.waitingPayment)])
            let deleted = await h.invoice("INV-3", account: acme, amount: "10.00")
            #expect(await h.sync().runOnce().succeeded)
            let usd = CurrencyCode("USD")!
            let control = CreatioIntegrationControl(sync: h.sync())
            let states = try await control.crmInvoices([agrees: usd, differs: usd, "6f0c5d07-0000-4000-8000-00000000abcd": usd])
            #expect(states == [agrees: CRMInvoiceState(paymentAmount: Money(5_000, usd), status: "paid"),
                               differs: CRMInvoiceState(paymentAmount: Money(3_000, usd), status: "open")])

            // The portal's side: a payment of each invoice in full, recorded today.
            let now = Int64(Date().timeIntervalSince1970)
            try await h.pool.write { db in
                let account = try String.fetchOne(db, sql: "SELECT id FROM accounts WHERE external_id = ?", arguments: [acme])!
                for (n, crmId, amount) in [(1, agrees, 5_000), (2, differs, 8_000), (3, deleted, 1_000)] {
                    let invoice = try String.fetchOne(db, sql: "SELECT id FROM invoices WHERE external_id = ?", arguments: [crmId])!
                    try db.execute(sql: "UPDATE invoices SET amount_paid = total, balance = 0, status = 'paid' WHERE id = ?", arguments: [invoice])
                    try db.execute(sql: "INSERT INTO payments (id, account_id, amount, currency, status, created_at) VALUES (?, ?, ?, 'USD', 'succeeded', ?)",
                                   arguments: ["pay_\(n)", account, amount, now])
                    try db.execute(sql: "INSERT INTO payment_allocations (payment_id, invoice_id, amount) VALUES (?, ?, ?)",
                                   arguments: ["pay_\(n)", invoice, amount])
                }
            }
            await h.simulator.delete("Invoice", id: deleted)
            let today = CalendarDate(Date()).iso
            let report = try await ReconciliationService(db: h.pool, gateway: nil, control: control).report(try ReconciliationRange(from: today, to: today))
            #expect(report.paymentsChecked == 3 && report.invoicesChecked == 3)
            #expect(report.mismatches.map { "\($0.invoiceNumber ?? "") \($0.kind.rawValue) \($0.side.rawValue)" }
                    == ["INV-2 amount crm", "INV-2 status crm", "INV-3 missing crm"])
            #expect(report.notes == ["No card gateway is configured, so the gateway side was not compared."])
        }
    }
}
