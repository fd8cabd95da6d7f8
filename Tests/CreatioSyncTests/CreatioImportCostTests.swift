import Foundation
import Gateways
import GRDB
import Testing
@testable import CreatioSync
@testable import PortalCore

/// What a first import and a quiet pass cost in OData requests: the pull must not read invoices twice.
@Suite struct CreatioImportCostTests {
    @Test func aFirstImportReadsEachInvoiceOnceAndLinesAlreadyHeldBringNoInvoiceBack() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            var lines: [String] = []
            for n in 1...30 {
                let invoice = await h.invoice("INV-\(n)", account: acme, amount: "3.00")
                lines.append(await h.line(invoice, name: "One", quantity: "1.000", price: "1.00", amount: "1.00"))
                lines.append(await h.line(invoice, name: "Two", quantity: "1.000", price: "2.00", amount: "2.00"))
            }
            let sync = h.sync()
            let first = await sync.runOnce()
            #expect(first.succeeded, "\(first)")
            #expect(first.entities.map(\.imported) == [1, 0, 30, 60])
            let lineCount = try await h.count("SELECT count(*) FROM invoice_lines")
            #expect(lineCount == 60)
            // Account, Contact, Currency, InvoicePaymentStatus, one Invoice page, its lines in two reads
            // (28 + 2 invoices), one InvoiceProduct page. Reading the invoices again for their lines would add four more.
            #expect(await h.simulator.odataRequests == 8)

            // Saved in Creatio without a change: ModifiedOn moves on, the values are what the portal holds.
            #expect(await h.simulator.update("InvoiceProduct", id: lines[0], ["Name": "One"]))
            let quiet = await sync.runOnce()
            #expect(quiet["InvoiceProduct"]?.imported == 1)
            #expect(await h.simulator.odataRequests == 8 + 6)

            // A real change brings its invoice back: one Invoice read and one read of its lines.
            #expect(await h.simulator.update("InvoiceProduct", id: lines[3], ["Name": "Two, revised"]))
            let changed = await sync.runOnce()
            #expect(changed["InvoiceProduct"]?.imported == 1)
            #expect(await h.simulator.odataRequests == 8 + 6 + 8)
            let revised = try await h.count("SELECT count(*) FROM invoice_lines WHERE external_id = ? AND description = 'Two, revised'", [lines[3]])
            #expect(revised == 1)
        }
    }

    @Test func aLineMovedToAnotherInvoiceIsNotTakenAsHeld() async throws {
        try await SyncHarness.run { h in
            let acme = await h.account("Acme")
            let from = await h.invoice("INV-A", account: acme, amount: "5.00")
            let to = await h.invoice("INV-B", account: acme, amount: "0.00")
            let line = await h.line(from, name: "Moved", quantity: "1.000", price: "5.00", amount: "5.00")
            // Read last, so the line pull's cursor rests on it rather than on the line that moves.
            await h.line(to, name: "Stays", quantity: "1.000", price: "0.00", amount: "0.00")
            let sync = h.sync()
            #expect(await sync.runOnce().succeeded)

            #expect(await h.simulator.update("InvoiceProduct", id: line, ["InvoiceId": .string(to)]))
            let before = await h.simulator.odataRequests
            let report = await sync.runOnce()
            // The portal holds the line on INV-A, so it is not taken as held: INV-B and its lines are read.
            let after = await h.simulator.odataRequests
            #expect(after == before + 6 + 2, "\(report)")
        }
    }

    @Test func theLongestIdFilterStaysWithinIISQueryStringLimit() {
        let client = CreatioClient(CreatioConfiguration(baseURL: URL(string: "https://example.creatio.com")!, odataPath: "0/odata",
                                                        auth: .forms(user: "u", password: "p")))
        let ids = (0..<CreatioClient.idsPerFilter).map { _ in UUID().uuidString.lowercased() }
        let query = ODataQuery(filter: CreatioClient.anyOf("Invoice/Id", ids), orderBy: CreatioSyncService.lineOrder, top: 500,
                               skip: 99_500, select: CreatioSyncService.lineColumns)
        let length = URLComponents(url: client.collectionURL("InvoiceProduct", query), resolvingAgainstBaseURL: false)?.percentEncodedQuery?.count ?? 0
        #expect(length > 1_500)
        #expect(length < 2_048)
    }
}
