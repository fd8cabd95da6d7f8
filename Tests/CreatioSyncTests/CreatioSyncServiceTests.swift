import Foundation
import Gateways
import GRDB
import Testing
@testable import CreatioSync
@testable import PortalCore

@Suite struct CreatioSyncServiceTests {
    @Test func pullCreatesAccountsAndInvoicesWithTheirLines() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme GmbH")
            let invoice = await h.invoice("INV-1001", account: acme, amount: "0.33", extra: ["PaymentAmount": .number("0.1"), "Notes": "Thanks"])
            await h.line(invoice, name: "Widget", quantity: "1.000", price: "0.1", amount: "0.1")
            await h.line(invoice, name: "Gadget", quantity: "2.000", price: "0.1", amount: "0.2", tax: "0.03")

            let report = await h.sync().runOnce()
            #expect(report.succeeded, "\(report)")
            #expect(report["Account"]?.imported == 1)
            #expect(report["Invoice"]?.imported == 1)

            let accountIdFound = try await h.pool.read { try String.fetchOne($0, sql: "SELECT id FROM accounts WHERE external_id = ?", arguments: [acme]) }
            let accountId = try #require(accountIdFound)
            let rowFound = try await h.invoiceRow(crmId: invoice)
            let row = try #require(rowFound)
            #expect(row["account_id"] as String == accountId)
            #expect(row["number"] as String == "INV-1001")
            #expect(row["currency"] as String == "USD")
            #expect(row["issue_date"] as String == "2026-03-01")
            #expect(row["due_date"] as String == "2026-03-31")
            // 0.1 + 0.2 + 0.03 tax = 0.33 exactly, so the totals agree with the lines.
            #expect(row["subtotal"] as Int64 == 30)
            #expect(row["tax_total"] as Int64 == 3)
            #expect(row["total"] as Int64 == 33)
            #expect(row["amount_paid"] as Int64 == 10)
            #expect(row["balance"] as Int64 == 23)
            #expect(row["status"] as String == "partially_paid")
            #expect(row["totals_mismatch"] as Bool == false)
            let lines = try h.pool.read {
                try Row.fetchAll($0, sql: "SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position", arguments: [row["id"] as String])
            }
            #expect(lines.map { $0["description"] as String } == ["Widget", "Gadget"])
            #expect(lines.map { $0["quantity_milli"] as Int64 } == [1000, 2000])
            #expect(lines.map { $0["line_total"] as Int64 } == [10, 20])

            let again = await h.sync().runOnce()
            #expect(again.entities.map(\.imported) == [0, 0, 0, 0], "\(again)")
        }
    }

    @Test func changesInCreatioArePickedUpOnTheNextPass() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let invoice = await h.invoice("INV-1", account: acme, amount: "10.00")
            let line = await h.line(invoice, name: "Hours", quantity: "1.000", price: "10.00", amount: "10.00")
            let sync = h.sync()
            #expect(await sync.runOnce().succeeded)

            #expect(await h.simulator.update("Account", id: acme, ["Name": "Acme Renamed"]))
            #expect(await h.simulator.update("Invoice", id: invoice, ["Number": "INV-1-A", "PaymentStatusId": .string(CreatioPaymentStatus.canceled)]))
            let report = await sync.runOnce()
            #expect(report["Account"]?.imported == 1)
            #expect(report["Invoice"]?.imported == 1)
            do { let value = try await h.count("SELECT count(*) FROM accounts WHERE name = 'Acme Renamed'"); #expect(value == 1) }
            let rowFound = try await h.invoiceRow(crmId: invoice)
            var row = try #require(rowFound)
            #expect(row["number"] as String == "INV-1-A")
            #expect(row["status"] as String == "void")

            // A line edit recalculates the invoice in Creatio without moving its ModifiedOn.
            #expect(await h.simulator.update("InvoiceProduct", id: line, ["Quantity": .number("1.5"), "Amount": .number("15.00")]))
            #expect(await h.simulator.update("Invoice", id: invoice, ["Amount": .number("15.00"), "ModifiedOn": .string(row["crm_modified_on"] as String)]))
            let lineReport = await sync.runOnce()
            #expect(lineReport["Invoice"]?.imported == 0)
            #expect(lineReport["InvoiceProduct"]?.imported == 1)
            let rowAgain = try await h.invoiceRow(crmId: invoice)
            row = try #require(rowAgain)
            #expect(row["total"] as Int64 == 1500)
            do { let value = try await h.count("SELECT quantity_milli FROM invoice_lines WHERE external_id = ?", [line]); #expect(value == 1500) }
        }
    }

    @Test func aThousandInvoicesSharingOneModifiedOnAcrossPagesImportOnceEach() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let stamp = "2026-02-01T10:00:00.1234567Z"
            for n in 1...1000 { await h.invoice("INV-\(n)", account: acme, amount: "1.00", extra: ["ModifiedOn": .string(stamp)]) }
            let sync = h.sync(pageSize: 100)
            let first = await sync.runOnce()
            #expect(first.succeeded, "\(first)")
            #expect(first["Invoice"]?.imported == 1000)
            do { let value = try await h.count("SELECT count(*) FROM invoices"); #expect(value == 1000) }
            do { let value = try await h.count("SELECT count(DISTINCT number) FROM invoices"); #expect(value == 1000) }

            // One more arrives at the very same instant (a bulk import finishing late): only it is new.
            let late = await h.invoice("INV-LATE", account: acme, amount: "1.00", extra: ["ModifiedOn": .string(stamp)])
            let second = await sync.runOnce()
            #expect(second["Invoice"]?.imported == 1, "\(second)")
            do { let value = try await h.invoiceRow(crmId: late); #expect(value != nil) }
            do { let value = try await h.count("SELECT count(*) FROM invoices"); #expect(value == 1001) }
            #expect(await sync.runOnce()["Invoice"]?.imported == 0)
        }
    }

    @Test func aRecordThatCannotBeMappedIsRecordedAndTheRestImport() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            await h.invoice("INV-1", account: acme, amount: "5.00")
            let bad = await h.invoice("", account: acme, amount: "5.00")
            let orphan = await h.invoice("INV-3", account: "6f0c5d07-0000-4000-8000-000000000001", amount: "5.00")
            let odd = await h.invoice("INV-4", account: acme, amount: "5.00", extra: ["Amount": .string("five")])
            await h.invoice("INV-5", account: acme, amount: "5.00")
            let sync = h.sync(pageSize: 2)
            let report = await sync.runOnce()
            #expect(report.succeeded)
            #expect(report["Invoice"]?.imported == 2)
            #expect(report["Invoice"]?.failed == 3)
            let failures = try await sync.failures(entity: "Invoice")
            #expect(Dictionary(uniqueKeysWithValues: failures.map { ($0.crmId, $0.error) }) == [
                bad: "invoice number is empty",
                orphan: "account 6f0c5d07-0000-4000-8000-000000000001 has not been synced",
                odd: "\"five\" is not a number",
            ])
            do { let value = try await h.count("SELECT count(*) FROM invoices"); #expect(value == 2) }

            // Fixed in Creatio: the next pass imports it and the failure is resolved.
            #expect(await h.simulator.update("Invoice", id: bad, ["Number": "INV-2"]))
            #expect(await sync.runOnce()["Invoice"]?.imported == 1)
            let after = try await sync.failures(entity: "Invoice")
            #expect(after.first { $0.crmId == bad }?.resolved == true)
            #expect(after.filter { !$0.resolved }.count == 2)
        }
    }

    @Test func aServerErrorStopsThePassWithoutMovingTheCursorPastUnreadData() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            for n in 1...12 { await h.invoice("INV-\(n)", account: acme, amount: "1.00") }
            // Requests: Account page, Contact page, Currency page, payment statuses, Invoice page 1, its lines, then Invoice page 2 fails.
            await h.simulator.failNext(1, status: 503, after: 6)
            let sync = h.sync(pageSize: 5)
            let broken = await sync.runOnce()
            #expect(!broken.succeeded)
            #expect(broken["Invoice"]?.imported == 5)
            #expect(broken["Invoice"]?.error == "Creatio answered 503 (-1): Internal server error (injected fault).")
            do { let value = try await h.count("SELECT count(*) FROM invoices"); #expect(value == 5) }

            let resumed = await sync.runOnce()
            #expect(resumed.succeeded, "\(resumed)")
            #expect(resumed["Invoice"]?.imported == 7)
            do { let value = try await h.count("SELECT count(*) FROM invoices"); #expect(value == 12) }
            do { let value = try await h.count("SELECT pulled_count FROM creatio_sync_cursors WHERE entity = 'Invoice'"); #expect(value == 12) }
        }
    }

    @Test func anAccountPullFailureHoldsBackTheInvoices() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            await h.invoice("INV-1", account: acme, amount: "1.00")
            await h.simulator.failNext(1)
            let report = await h.sync().runOnce()
            #expect(report["Account"]?.error != nil)
            #expect(report["Invoice"]?.error == "not pulled: the Account pull stopped")
            do { let value = try await h.count("SELECT count(*) FROM sync_failures"); #expect(value == 0) }
            #expect(await h.sync().runOnce().succeeded)
            do { let value = try await h.count("SELECT count(*) FROM invoices"); #expect(value == 1) }
        }
    }
}

@Suite struct CreatioSyncBoundaryTests {
    /// Two of the records already read at the cursor's instant are edited (moving to later instants)
    /// and one arrives late at that instant: skipping "all but the last already read" would now jump
    /// over the newcomer, so the pass must notice and re-read the instant from its start.
    @Test func editsAtTheBoundaryInstantDoNotHideALateArrival() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let stamp = "2026-02-01T10:00:00.0000000Z"
            let ids = (1...5).map { "00000000-0000-4000-8000-00000000000\($0)" }
            for (n, id) in ids.enumerated() {
                await h.invoice("INV-\(n + 1)", account: acme, amount: "1.00", extra: ["Id": .string(id), "ModifiedOn": .string(stamp)])
            }
            let sync = h.sync(pageSize: 3)
            #expect(await sync.runOnce()["Invoice"]?.imported == 5)

            #expect(await h.simulator.update("Invoice", id: ids[0], ["Number": "INV-1-A"]))
            #expect(await h.simulator.update("Invoice", id: ids[1], ["Number": "INV-2-A"]))
            let late = await h.invoice("INV-LATE", account: acme, amount: "1.00",
                                       extra: ["Id": "ffffffff-ffff-4fff-bfff-ffffffffffff", "ModifiedOn": .string(stamp)])
            let report = await sync.runOnce()
            #expect(report["Invoice"]?.imported == 3, "\(report)")
            let lateRow = try await h.invoiceRow(crmId: late)
            #expect(lateRow != nil)
            let renamed = try await h.count("SELECT count(*) FROM invoices WHERE number IN ('INV-1-A', 'INV-2-A')")
            #expect(renamed == 2)
            #expect(await sync.runOnce()["Invoice"]?.imported == 0)
        }
    }
}

@Suite struct CreatioSyncRetryTests {
    @Test func anInvoiceWhoseAccountArrivesLaterImportsOnALaterPassWithoutBeingEdited() async throws {
        try await SyncHarness.run { h in
            let later = "7a1b2c3d-0000-4000-8000-000000000042"
            let invoice = await h.invoice("INV-9", account: later, amount: "9.99")
            let sync = h.sync()
            let first = await sync.runOnce()
            #expect(first["Invoice"]?.failed == 1)
            do { let failures = try await sync.failures(entity: "Invoice"); #expect(failures.map(\.resolved) == [false]) }

            await h.simulator.seed("Account", ["Id": .string(later), "Name": "Late Ltd"])
            let second = await sync.runOnce()
            #expect(second["Invoice"]?.imported == 1, "\(second)")
            #expect(second["Invoice"]?.failed == 0)
            let row = try await h.invoiceRow(crmId: invoice)
            #expect(row?["total"] as Int64? == 999)
            let failures = try await sync.failures(entity: "Invoice")
            #expect(failures.map(\.resolved) == [true])
            #expect(failures.map(\.attempts) == [1])
        }
    }
}

@Suite struct CreatioSyncLineFailureTests {
    @Test func aLineWhoseInvoiceCannotImportIsRecordedUnderInvoiceProduct() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let unknownCurrency = await h.invoice("INV-EUR", account: acme, amount: "3.00",
                                                  extra: ["CurrencyId": "c0ffee00-0000-4000-8000-000000000000"])
            let line = await h.line(unknownCurrency, name: "Thing", quantity: "1", price: "3.00", amount: "3.00")
            let stray = await h.line("0badf00d-0000-4000-8000-000000000000", name: "Stray", quantity: "1", price: "1.00", amount: "1.00")
            let report = await h.sync().runOnce()
            #expect(report.succeeded)
            #expect(report["Invoice"]?.failed == 1)
            #expect(report["InvoiceProduct"]?.failed == 2)
            let failures = try await h.sync().failures(entity: "InvoiceProduct")
            #expect(Dictionary(uniqueKeysWithValues: failures.map { ($0.crmId, $0.error) }) == [
                line: "its invoice \(unknownCurrency) did not import: currency c0ffee00-0000-4000-8000-000000000000 is not a known Creatio currency",
                stray: "its invoice 0badf00d-0000-4000-8000-000000000000 is not in Creatio",
            ])
        }
    }
}

@Suite struct ContactsAndDeletionsTests {
    @Test func contactsArePulledWithTheirAccountAndListedForStaffUntilInvited() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let anna = await h.simulator.seed("Contact", ["Name": "Anna Łódź", "Email": "Anna@Acme.example", "Phone": "+49 30 1234", "AccountId": .string(acme)])
            let noMail = await h.simulator.seed("Contact", ["Name": "Bert", "Email": "not an address", "AccountId": .string(acme)])
            let loner = await h.simulator.seed("Contact", ["Name": "Free Agent"])
            let orphan = await h.simulator.seed("Contact", ["Name": "Orphan", "AccountId": "6f1a5d1e-0000-4000-8000-000000000001"])
            let nameless = await h.simulator.seed("Contact", ["Name": "  ", "AccountId": .string(acme)])

            let report = await h.sync().runOnce()
            #expect(report["Contact"]?.imported == 3, "\(report)")
            #expect(report["Contact"]?.failed == 2)
            let failures = try await h.sync().failures(entity: "Contact")
            #expect(Set(failures.map(\.crmId)) == [orphan, nameless])
            #expect(failures.first { $0.crmId == orphan }?.error.contains("has not been synced") == true)

            let rows = try h.pool.read { try Row.fetchAll($0, sql: "SELECT c.*, a.external_id AS crm_account FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id ORDER BY c.name") }
            #expect(rows.map { $0["name"] as String } == ["Anna Łódź", "Bert", "Free Agent"])
            #expect(rows[0]["email"] as String? == "anna@acme.example")
            #expect(rows[0]["phone"] as String? == "+49 30 1234")
            #expect(rows[0]["crm_account"] as String? == acme)
            #expect(rows[1]["email"] as String? == nil)
            #expect(rows[2]["account_id"] as String? == nil)
            #expect(rows.map { $0["external_id"] as String } == [anna, noMail, loner])

            // Staff see the contacts who cannot sign in yet; one who has a sign-in drops off the list.
            let accountId = try #require(try await h.pool.read { try String.fetchOne($0, sql: "SELECT id FROM accounts WHERE external_id = ?", arguments: [acme]) })
            let listed = try await h.pool.read { try ContactService.withoutSignIn(accountId: accountId, $0).map(\.name) }
            #expect(listed == ["Anna Łódź", "Bert"])
            try await h.pool.write { db in
                try db.execute(sql: "INSERT INTO customer_users (id, email, name, status, created_at, updated_at) VALUES ('usr_a', 'ANNA@acme.example', 'Anna', 'invited', 0, 0)")
                try db.execute(sql: "INSERT INTO account_memberships (user_id, account_id, created_at) VALUES ('usr_a', ?, 0)", arguments: [accountId])
            }
            let after = try await h.pool.read { try ContactService.withoutSignIn(accountId: accountId, $0).map(\.name) }
            #expect(after == ["Bert"])

            // Moving the contact to no account, and the orphan's account arriving, are both picked up.
            #expect(await h.simulator.update("Contact", id: anna, ["AccountId": .string(CreatioSimulator.zeroGuid)]))
            await h.simulator.seed("Account", ["Id": "6f1a5d1e-0000-4000-8000-000000000001", "Name": "Late Ltd"])
            let second = await h.sync().runOnce()
            #expect(second["Contact"]?.failed == 1, "\(second)")
            let annaAccount = try await h.pool.read { try String.fetchOne($0, sql: "SELECT account_id FROM contacts WHERE external_id = ?", arguments: [anna]) }
            #expect(annaAccount == nil)
            let remaining = try await h.sync().failures(entity: "Contact").filter { !$0.resolved }.map(\.crmId)
            #expect(remaining == [nameless])
        }
    }

    @Test func deletedContactsInvoicesAndLinesAreFoundByTheScan() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let contact = await h.simulator.seed("Contact", ["Name": "Gone Soon", "AccountId": .string(acme)])
            let keptContact = await h.simulator.seed("Contact", ["Name": "Stays", "AccountId": .string(acme)])
            let unpaid = await h.invoice("INV-1", account: acme, amount: "10.00")
            let paid = await h.invoice("INV-2", account: acme, amount: "20.00")
            let edited = await h.invoice("INV-3", account: acme, amount: "30.00")
            let keptLine = await h.line(edited, name: "Stays", quantity: "1.000", price: "10.00", amount: "10.00")
            let goneLine = await h.line(edited, name: "Goes", quantity: "1.000", price: "20.00", amount: "20.00")
            var invoices: [String] = []
            for index in 0..<12 { invoices.append(await h.invoice("BULK-\(index)", account: acme, amount: "1.00")) }
            let sync = h.sync(pageSize: 5)
            #expect(await sync.runOnce().succeeded)

            // Nothing deleted: the scan changes nothing.
            let quiet = await sync.scanDeletions()
            #expect(quiet.succeeded, "\(quiet)")
            #expect(quiet.entities.map(\.imported) == [0, 0, 0])

            // A payment was recorded against INV-2 here before Creatio deleted it.
            let paidId = try #require(try await h.invoiceRow(crmId: paid))["id"] as String
            let accountId = try #require(try await h.invoiceRow(crmId: paid))["account_id"] as String
            try await h.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO payments (id, account_id, amount, currency, status, gateway, created_at, updated_at)
                    VALUES ('pay_t', ?, 500, 'USD', 'succeeded', 'sandbox', 0, 0)
                    """, arguments: [accountId])
                try db.execute(sql: "INSERT INTO payment_allocations (payment_id, invoice_id, amount) VALUES ('pay_t', ?, 500)", arguments: [paidId])
                try db.execute(sql: "UPDATE invoices SET amount_paid = 500, balance = 1500, status = 'partially_paid' WHERE id = ?", arguments: [paidId])
            }
            for (collection, id) in [("Contact", contact), ("Invoice", unpaid), ("Invoice", paid), ("InvoiceProduct", goneLine)] {
                #expect(await h.simulator.delete(collection, id: id))
            }
            #expect(await h.simulator.update("Invoice", id: edited, ["Amount": .number("10.00"),
                                                                       "ModifiedOn": .string(try #require(try await h.invoiceRow(crmId: edited))["crm_modified_on"] as String)]))
            // INV-2 once failed for another reason, since resolved: the deletion must still be filed.
            try await h.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO sync_failures (entity, crm_id, error, first_seen_at, last_seen_at, attempts, resolved_at)
                    VALUES ('Invoice', ?, 'an earlier, unrelated failure', 0, 0, 1, 0)
                    """, arguments: [paid])
            }
            let report = await sync.scanDeletions()
            #expect(report.succeeded, "\(report)")
            #expect(report["Contact"]?.imported == 1)
            #expect(report["Invoice"]?.imported == 1)
            #expect(report["Invoice"]?.failed == 1)
            #expect(report["InvoiceProduct"]?.imported == 1)

            #expect(try await h.count("SELECT count(*) FROM contacts WHERE external_id = ?", [contact]) == 0)
            #expect(try await h.count("SELECT count(*) FROM contacts WHERE external_id = ?", [keptContact]) == 1)
            let voided = try #require(try await h.invoiceRow(crmId: unpaid))
            #expect(voided["status"] as String == "void")
            #expect(voided["balance"] as Int64 == 0)
            let kept = try #require(try await h.invoiceRow(crmId: paid))
            #expect(kept["status"] as String == "partially_paid")
            #expect(kept["balance"] as Int64 == 1500)
            let failure = try await sync.failures(entity: "Invoice").first { $0.crmId == paid }
            #expect(failure?.error.contains("payments were made against it here") == true)
            let relined = try #require(try await h.invoiceRow(crmId: edited))
            #expect(relined["total"] as Int64 == 1000)
            let relinedId: String = relined["id"]
            let lineIds = try await h.pool.read { try String.fetchAll($0, sql: "SELECT external_id FROM invoice_lines WHERE invoice_id = ?", arguments: [relinedId]) }
            #expect(lineIds == [keptLine])
            #expect(try await h.count("SELECT count(*) FROM audit_events WHERE action = 'invoice.void'") == 1)

            // Scanning again voids nothing twice and files the kept invoice no second time.
            let again = await sync.scanDeletions()
            #expect(again["Invoice"]?.imported == 0, "\(again)")
            // (attempts: the earlier failure, then the deletion once)
            #expect(try await h.count("SELECT attempts FROM sync_failures WHERE entity = 'Invoice' AND crm_id = ?", [paid]) == 2)
            #expect(try await h.count("SELECT count(*) FROM sync_failures WHERE entity = 'Invoice' AND crm_id = ? AND resolved_at IS NULL", [paid]) == 1)
            // Staff settle it; the next scan leaves it settled.
            try await h.pool.write { try $0.execute(sql: "UPDATE sync_failures SET resolved_at = 1 WHERE entity = 'Invoice' AND crm_id = ?", arguments: [paid]) }
            _ = await sync.scanDeletions()
            #expect(try await h.count("SELECT count(*) FROM sync_failures WHERE entity = 'Invoice' AND crm_id = ? AND resolved_at IS NULL", [paid]) == 0)
            #expect(try await h.count("SELECT count(*) FROM audit_events WHERE action = 'invoice.void'") == 1)
        }
    }

    @Test func aScanThatWouldRemoveMostOfTheDataIsRefused() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            var ids: [String] = []
            for index in 0..<20 { ids.append(await h.invoice("INV-\(index)", account: acme, amount: "1.00")) }
            let sync = h.sync()
            #expect(await sync.runOnce().succeeded)
            for id in ids.prefix(15) { #expect(await h.simulator.delete("Invoice", id: id)) }
            let report = await sync.scanDeletions()
            #expect(report["Invoice"]?.error?.contains("refused to remove 15 of 20") == true, "\(report)")
            let voided = try await h.count("SELECT count(*) FROM invoices WHERE status = 'void'")
            #expect(voided == 0)
        }
    }

    @Test func deletionsOverManyScansAreNotTakenForALostAccessButAnEmptyCRMIs() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            var ids: [String] = []
            for index in 0..<24 { ids.append(await h.invoice("INV-\(index)", account: acme, amount: "1.00")) }
            let sync = h.sync()
            #expect(await sync.runOnce().succeeded)
            // Eight at a time: each scan sees only what is still live, so earlier deletions do not pile up.
            for round in 0..<2 {
                for id in ids[(round * 8)..<(round * 8 + 8)] { #expect(await h.simulator.delete("Invoice", id: id)) }
                let report = await sync.scanDeletions()
                #expect(report["Invoice"]?.error == nil, "\(report)")
                #expect(report["Invoice"]?.imported == 8)
            }
            let voided = try await h.count("SELECT count(*) FROM invoices WHERE status = 'void'")
            #expect(voided == 16)
            // Creatio answering no invoices at all looks like lost access, however few there are.
            for id in ids[16...] { #expect(await h.simulator.delete("Invoice", id: id)) }
            let empty = await sync.scanDeletions()
            #expect(empty["Invoice"]?.error?.contains("refused to remove 8 of 8") == true, "\(empty)")
            let after = try await h.count("SELECT count(*) FROM invoices WHERE status = 'void'")
            #expect(after == 16)
        }
    }
}
