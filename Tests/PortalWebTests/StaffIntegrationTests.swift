import CreatioSync
import Foundation
import Gateways
import GRDB
import HummingbirdTesting
import PortalCore
import Testing

/// `/staff/integration` over HTTP: who may see it, what it shows, reprocessing against the Creatio
/// simulator, outbox retries, and the reconciliation report with the sandbox gateway and its CSV.
@Suite struct StaffIntegrationTests {
    static let usd = "915e8a55-98d6-df11-9b2a-001d60e938c6"
    static let ghost = "6f0c5d07-0000-4000-8000-000000000001"

    /// A Creatio simulator, and the factory `withPortal` uses to connect the portal to it.
    static func withCreatio(_ body: @Sendable (CreatioSimulator, @escaping @Sendable (DatabasePool) -> CreatioSyncService) async throws -> Void)
        async throws {
        let simulator = CreatioSimulator()
        try await CreatioSimulator.run(simulator) { base in
            await simulator.seed("Currency", ["Id": .string(usd), "Code": "USD", "ShortName": "$", "Name": "US Dollar"])
            try await body(simulator) { db in
                CreatioSyncService(client: CreatioClient(CreatioConfiguration(baseURL: base, odataPath: "0/odata",
                                                                              auth: .forms(user: "Supervisor", password: "Supervisor"))),
                                   db: db, directory: DirectoryService(db: db, hasher: fastHasher, clock: .system),
                                   invoices: InvoiceService(db: db, clock: .system), clock: .system)
            }
        }
    }

    @Test func onlyFinanceAndAdminsMayUseIt() async throws {
        try await withPortal { portal, client in
            for role in StaffRole.allCases {
                let member = try await ImpersonationTests.staff(portal, "\(role.rawValue)@example.com", role: role)
                let browser = try await ImpersonationTests.signedIn(portal, client, member)
                let page = try await browser.get("/staff/integration")
                let console = try await browser.get("/staff")
                let allowed = role.includes(.finance)
                #expect(page.status == (allowed ? .ok : .forbidden), "\(role)")
                #expect(console.body.contains("href=\"/staff/integration\"") == allowed, "\(role): the link is shown only to those who may follow it")
                let csv = try await browser.get("/staff/integration/reconciliation.csv?from=2027-01-01&to=2027-01-31")
                #expect(csv.status == (allowed ? .ok : .forbidden), "\(role)")
                let retry = try await browser.post("/staff/integration/outbox/retry-all")
                #expect(retry.status == (allowed ? .ok : .forbidden), "\(role)")
            }
            #expect(try await Browser(client).get("/staff/integration").location == "/staff/login")
        }
    }

    @Test func thePageShowsPullsFailuresAndTheOutboxAndRetriesARow() async throws {
        try await withPortal { portal, client in
            let finance = try await ImpersonationTests.staff(portal, "fin@example.com", role: .finance)
            let acme = try await portal.account("Acme Widgets GmbH")
            let invoice = try await InvoicePagesTests.invoice(portal, acme, "INV-OUT-1", dueIn: 5)
            let now = portal.services.clock.nowSeconds()
            let dead = try await portal.database.write { db in
                try db.execute(sql: "INSERT INTO creatio_sync_cursors (entity, last_pull_at, pulled_count, failed_count) VALUES ('Invoice', ?, 42, 1)",
                               arguments: [now - 300])
                try db.execute(sql: """
                    INSERT INTO sync_failures (entity, crm_id, error, first_seen_at, last_seen_at) VALUES ('Invoice', 'crm-failed-1', 'currency x is not a known Creatio currency', ?, ?)
                    """, arguments: [now, now])
                try db.execute(sql: """
                    INSERT INTO crm_outbox (topic, dedupe_key, invoice_id, status, attempts, next_attempt_at, last_error, created_at)
                    VALUES ('payment.result', 'k1', ?, 'dead', 12, ?, 'Creatio answered 500 Internal Server Error', ?)
                    """, arguments: [invoice, now, now - 7200])
                return db.lastInsertedRowID
            }
            let browser = try await ImpersonationTests.signedIn(portal, client, finance)
            let page = try await browser.get("/staff/integration")
            #expect(page.status == .ok)
            #expect(page.contains("Creatio is not configured"))
            #expect(page.contains("5 min") && page.contains("42"), "the Invoice pull's lag and count")
            #expect(page.contains("crm-failed-1") && page.contains("currency x is not a known Creatio currency"))
            #expect(page.contains("INV-OUT-1") && page.contains("Creatio answered 500 Internal Server Error") && page.contains("2 h 0 min"))
            #expect(!page.body.contains("action=\"/staff/integration/failures/reprocess\""), "no reprocess buttons without Creatio")

            #expect(try await browser.post("/staff/integration/outbox/\(dead)/retry", csrf: .none).status == .forbidden)
            let refused = try await browser.post("/staff/integration/failures/reprocess-all")
            #expect(refused.status == .unprocessableContent && refused.contains("Creatio is not configured for this portal"))
            let retried = try await browser.post("/staff/integration/outbox/\(dead)/retry")
            #expect(retried.status == .ok && retried.contains("Update \(dead) will be sent to the CRM"))
            let status = try await portal.database.read { try String.fetchOne($0, sql: "SELECT status FROM crm_outbox WHERE id = ?", arguments: [dead]) }
            #expect(status == "pending")
            #expect(try await portal.audit("integration.outbox_retry").first?.actorLabel == "fin@example.com")
            #expect(try await browser.post("/staff/integration/outbox/999999/retry").status == .notFound)
        }
    }

    @Test func reprocessOneAndAllAgainstTheSimulator() async throws {
        try await Self.withCreatio { simulator, connect in
            try await withPortal(integration: { CreatioIntegrationControl(sync: connect($0)) }) { portal, client in
                let acme = await simulator.seed("Account", ["Name": "Acme"])
                func invoice(_ number: String, account: String) async -> String {
                    await simulator.seed("Invoice", ["Number": .string(number), "AccountId": .string(account), "CurrencyId": .string(Self.usd),
                                                     "Amount": .number("5.00"), "StartDate": "2026-03-01T00:00:00Z"])
                }
                let orphan = await invoice("INV-ORPHAN", account: Self.ghost)
                let orphan2 = await invoice("INV-ORPHAN-2", account: Self.ghost)
                let numberless = await invoice("", account: acme)
                let sync = connect(portal.database)
                #expect(await sync.runOnce()["Invoice"]?.failed == 3)

                let finance = try await ImpersonationTests.staff(portal, "fin@example.com", role: .finance)
                let browser = try await ImpersonationTests.signedIn(portal, client, finance)
                let page = try await browser.get("/staff/integration")
                #expect(page.contains(orphan) && page.contains("account \(Self.ghost) has not been synced") && !page.contains("Creatio is not configured"))

                let early = try await browser.post("/staff/integration/failures/reprocess", ["entity": "Invoice", "crm_id": orphan])
                #expect(early.status == .ok && early.contains("Invoice \(orphan) still fails: account \(Self.ghost) has not been synced"))

                // The account appears (created in Creatio and imported by the Account pull of a later pass).
                _ = try await portal.services.directory.upsertAccount(name: "Ghost Ltd", externalId: Self.ghost)

                let one = try await browser.post("/staff/integration/failures/reprocess", ["entity": "Invoice", "crm_id": orphan])
                #expect(one.status == .ok && one.contains("Invoice \(orphan) imported."))
                let numbers = { try await portal.database.read { try String.fetchAll($0, sql: "SELECT number FROM invoices ORDER BY number") } }
                #expect(try await numbers() == ["INV-ORPHAN"])
                let again = try await browser.post("/staff/integration/failures/reprocess", ["entity": "Invoice", "crm_id": orphan])
                #expect(again.status == .notFound && again.contains("no longer waiting"))

                let all = try await browser.post("/staff/integration/failures/reprocess-all")
                #expect(all.status == .ok && all.contains("Reprocessed 2 records: 1 imported, 1 still failing."))
                #expect(all.contains("Invoice \(numberless): invoice number is empty"))
                #expect(try await numbers() == ["INV-ORPHAN", "INV-ORPHAN-2"])
                _ = orphan2
                #expect(try await portal.audit("integration.reprocess").map(\.outcome) == [.success, .failure], "the refused repeat is not an event")
                #expect(try await portal.audit("integration.reprocess_all").first?.actorLabel == "fin@example.com")
            }
        }
    }

    @Test func reconciliationFindsEachMismatchAndExportsIt() async throws {
        try await Self.withCreatio { simulator, connect in
            try await PaymentsTests().withAlice(integration: { CreatioIntegrationControl(sync: connect($0)) }) { setup, _, counting in
                let portal = setup.portal
                let card = try await PaymentsTests().savedCard(setup)
                // Portal invoices that came from Creatio invoices (EUR, as the portal's test invoices are).
                func crmInvoice(paid: String, status: String) async -> String {
                    await simulator.seed("Invoice", ["Number": "X", "PaymentAmount": .number(paid), "PaymentStatusId": .string(status)])
                }
                func pay(_ number: String, crmId: String, amount: Int64) async throws -> String {
                    let id = try await PaymentsTests().invoice(setup, number, dueIn: 5, amount: amount)
                    try await portal.database.write { try $0.execute(sql: "UPDATE invoices SET external_id = ? WHERE id = ?", arguments: [crmId, id]) }
                    let form = try await setup.browser.get("/pay?invoice=\(id)")
                    let posted = try await setup.browser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": id,
                                                                       "method": card])
                    return String(try #require(posted.location).dropFirst("/payments/".count))
                }
                let crmBehind = await crmInvoice(paid: "0.00", status: CreatioPaymentStatus.waitingPayment)
                let agreeing = await crmInvoice(paid: "50.00", status: CreatioPaymentStatus.paid)
                let alsoAgreeing = await crmInvoice(paid: "30.00", status: CreatioPaymentStatus.paid)
                let behind = try await pay("INV-CRM-BEHIND", crmId: crmBehind, amount: 10_000)
                let misbooked = try await pay("INV-AMOUNT", crmId: agreeing, amount: 5_000)
                let misstated = try await pay("INV-STATUS", crmId: alsoAgreeing, amount: 3_000)
                let unknown = try await pay("INV-NOT-IN-CRM", crmId: "6f0c5d07-0000-4000-8000-00000000dead", amount: 2_000)
                // The portal's books drift: an amount and a status that the gateway does not share, and
                // a payment the gateway never saw.
                try await portal.database.write { db in
                    try db.execute(sql: "UPDATE payments SET amount = 4500 WHERE id = ?", arguments: [misbooked])
                    try db.execute(sql: "UPDATE payments SET status = 'refunded' WHERE id = ?", arguments: [misstated])
                    let account = try String.fetchOne(db, sql: "SELECT account_id FROM payments WHERE id = ?", arguments: [behind])!
                    try db.execute(sql: """
                        INSERT INTO payments (id, account_id, amount, currency, status, gateway, created_at) VALUES ('pay_ghost', ?, 700, 'EUR', 'succeeded', ?, ?)
                        """, arguments: [account, counting.name, portal.services.clock.nowSeconds()])
                }

                let finance = try await ImpersonationTests.staff(portal, "fin@example.com", role: .finance)
                let browser = try await ImpersonationTests.signedIn(portal, setup.browser.client, finance)
                let today = CalendarDate(portal.clock.date).iso
                let page = try await browser.get("/staff/integration/reconciliation?from=\(today)&to=\(today)")
                #expect(page.status == .ok)
                #expect(page.contains("5 payments and 4 CRM invoices checked") && page.contains("<strong>6</strong> mismatches"), "\(page.text)")
                let csv = try await browser.get("/staff/integration/reconciliation.csv?from=\(today)&to=\(today)")
                #expect(csv.status == .ok && csv.headers[.contentType]?.hasPrefix("text/csv") == true)
                #expect(csv.headers[.contentDisposition] == "attachment; filename=\"reconciliation-\(today)-\(today).csv\"")
                let rows = csv.body.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
                    .map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(4).joined(separator: ",") }
                #expect(Set(rows) == [
                    "amount,gateway,\(misbooked),INV-AMOUNT", "status,gateway,\(misstated),INV-STATUS", "missing,gateway,pay_ghost,",
                    "amount,crm,\(behind),INV-CRM-BEHIND", "status,crm,\(behind),INV-CRM-BEHIND",
                    "missing,crm,\(unknown),INV-NOT-IN-CRM",
                ] && rows.count == 6, "\(rows)")

                let reversed = try await browser.get("/staff/integration/reconciliation?from=\(today)&to=2000-01-01")
                #expect(reversed.status == .badRequest && reversed.contains("must not be after"))
                #expect(try await browser.get("/staff/integration/reconciliation.csv?from=nope&to=\(today)").status == .badRequest)
                #expect(try await browser.get("/staff/integration/reconciliation").status == .ok, "the empty form")
            }
        }
    }
}
