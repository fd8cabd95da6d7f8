import Foundation
import PortalCore
import Testing

/// `/`, `/invoices`, `/invoices.csv`, `/invoices/{id}` and `/invoices/{id}.pdf` for a signed-in customer.
@Suite struct InvoicePagesTests {
    static let eur = CurrencyCode("EUR")!
    static let usd = CurrencyCode("USD")!

    /// An open invoice whose totals agree with its one line.
    @discardableResult
    static func invoice(_ portal: Portal, _ account: Account, _ number: String, dueIn days: Int, amount: Int64 = 10_000,
                        currency: CurrencyCode = eur, description: String = "Consulting", status: InvoiceStatus = .open,
                        notes: String = "", billTo: String = "") async throws -> String {
        var line = InvoiceLine(position: 1, description: description, quantity: Quantity(milli: 1000), unitPrice: amount, lineTotal: 0)
        line.lineTotal = line.expectedTotal
        let today = CalendarDate(portal.clock.date)
        return try await portal.services.invoices.upsert(InvoiceInput(
            accountId: account.id, externalId: "crm-\(number)", number: number, issueDate: today.adding(days: days - 30),
            dueDate: today.adding(days: days), currency: currency, lines: [line], subtotal: amount, taxTotal: 0, total: amount,
            crmStatus: status, billToName: billTo, notes: notes))
    }

    @Test func overviewShowsBalancesOverdueNextDueAndLastPayment() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            try await Self.invoice(portal, acme, "INV-OLD", dueIn: -5, amount: 2_000)
            try await Self.invoice(portal, acme, "INV-NEXT", dueIn: 3, amount: 3_000)
            let paid = try await Self.invoice(portal, acme, "INV-PAID", dueIn: 1, amount: 700)
            try await portal.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [paid], amount: Money(700, Self.eur),
                                                                    methodBrand: "visa", methodLast4: "4242"))
            let browser = try await portal.signedIn(client, alice)
            let home = try await browser.get("/")
            #expect(home.status == .ok)
            #expect(home.contains("€50.00"))          // balance due: 20 + 30
            #expect(home.contains("€20.00"))          // overdue
            #expect(home.contains("1 overdue invoice(s)"))
            #expect(home.contains("INV-NEXT"))
            #expect(home.contains("€7.00") && home.contains("Visa •••• 4242"))
        }
    }

    @Test func absentValuesHideTheirSections() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let overdueOnly = try await Self.invoice(portal, acme, "INV-LATE", dueIn: -3)
            let browser = try await portal.signedIn(client, alice)
            let home = try await browser.get("/")
            #expect(home.contains("No upcoming due dates.") && home.contains("No payments yet."))
            let list = try await browser.get("/invoices")
            #expect(!list.body.contains("rel=\"prev\"") && !list.body.contains("rel=\"next\"") && !list.contains("Clear"))
            let searched = try await browser.get("/invoices?q=LATE")
            #expect(searched.contains("Clear"))
            let detail = try await browser.get("/invoices/\(overdueOnly)")
            #expect(!detail.body.contains("<h2>Notes</h2>") && !detail.body.contains("<h2>Terms</h2>"))
            #expect(detail.contains("No payments yet."))
        }
    }

    @Test func listFiltersSearchesSortsAndPages() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            for i in 0..<30 {
                try await Self.invoice(portal, acme, String(format: "A-%03d", i), dueIn: i - 5, amount: Int64(1_000 + i),
                                       currency: i % 5 == 0 ? Self.usd : Self.eur)
            }
            let paid = try await Self.invoice(portal, acme, "P-001", dueIn: 0, amount: 500)
            try await portal.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [paid], amount: Money(500, Self.eur)))
            let browser = try await portal.signedIn(client, alice)

            let open = try await browser.get("/invoices")
            #expect(open.status == .ok)
            #expect(open.body.components(separatedBy: "<tr>").count - 1 >= 25)
            #expect(open.contains("A-000") && !open.contains("P-001"))
            #expect(open.contains("Page 1 of 2"))
            #expect(open.contains("invoice(s) in EUR") && open.contains("invoice(s) in USD"))

            let overdue = try await browser.get("/invoices?status=overdue")
            #expect(overdue.contains("A-004") && !overdue.contains("A-005") && overdue.contains("Overdue"))
            let paidList = try await browser.get("/invoices?status=paid")
            #expect(paidList.contains("P-001") && !paidList.contains("A-000"))
            let search = try await browser.get("/invoices?status=all&q=a-02")
            #expect(search.contains("A-020") && search.contains("A-029") && !search.contains("A-019"))
            let none = try await browser.get("/invoices?status=all&q=ZZZ")
            #expect(none.contains("No invoices match"))
            let byAmount = try await browser.get("/invoices?status=open&sort=amount&dir=desc")
            let first = try #require(byAmount.body.range(of: "A-029"))
            let second = try #require(byAmount.body.range(of: "A-028"))
            #expect(first.lowerBound < second.lowerBound)

            // Pagination edges: a valid page or a clear 400, never a crash.
            for query in ["page=0", "page=-1"] {
                let page = try await browser.get("/invoices?\(query)")
                #expect(page.status == .ok && page.contains("Page 1 of 2"), "\(query)")
            }
            let huge = try await browser.get("/invoices?page=99999999999")
            #expect(huge.status == .ok && huge.contains("Page 2 of 2"))
            let overflow = try await browser.get("/invoices?page=999999999999999999999999")
            #expect(overflow.status == .badRequest)
            for query in ["page=abc", "page=1.5", "status=bogus", "sort=name", "dir=up"] {
                let bad = try await browser.get("/invoices?\(query)")
                #expect(bad.status == .badRequest, "\(query)")
                #expect(!bad.body.contains("Fatal") && bad.contains("Something is wrong with that request"))
            }
        }
    }

    @Test func detailShowsLinesTotalsAndPaymentHistory() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Ørsted & Müller Consulting")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let id = try await Self.invoice(portal, acme, "INV-4711", dueIn: 10, amount: 9_000, description: "Łódź warehouse storage")
            try await portal.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [id], amount: Money(4_000, Self.eur),
                                                                    methodBrand: "mastercard", methodLast4: "4444"))
            let browser = try await portal.signedIn(client, alice)
            let page = try await browser.get("/invoices/\(id)")
            #expect(page.status == .ok)
            #expect(page.contains("Invoice INV-4711") && page.contains("Łódź warehouse storage"))
            #expect(page.contains("€90.00") && page.contains("€50.00") && page.contains("Partially paid"))
            #expect(page.contains("Mastercard •••• 4444") && page.contains("€40.00"))
            #expect(page.body.contains("href=\"/invoices/\(id).pdf\""))
            #expect(id.hasPrefix("inv_") && !id.dropFirst(4).allSatisfy(\.isNumber))

            let pdf = try await browser.get("/invoices/\(id).pdf")
            #expect(pdf.status == .ok)
            #expect(pdf.headers[.contentType] == "application/pdf")
            #expect(pdf.body.hasPrefix("%PDF-"))
        }
    }

    @Test func anotherCustomersOrAnUnknownInvoiceIsNotFoundEverywhere() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme")
            let bakery = try await portal.account("Bakery")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            _ = try await portal.customer("bob@example.com", accounts: [bakery])
            let bobs = try await Self.invoice(portal, bakery, "BOB-1", dueIn: 3)
            let draft = try await Self.invoice(portal, acme, "DRAFT-1", dueIn: 3, status: .draft)
            let browser = try await portal.signedIn(client, alice)
            for path in ["/invoices/\(bobs)", "/invoices/\(bobs).pdf", "/invoices/\(draft)", "/invoices/\(draft).pdf",
                         "/invoices/inv_doesnotexist", "/invoices/inv_doesnotexist.pdf", "/invoices/1", "/invoices/..%2F..%2Fetc%2Fpasswd"] {
                let page = try await browser.get(path)
                #expect(page.status == .notFound, "\(path)")
                #expect(page.contains("Page not found"), "\(path)")
            }
            let list = try await browser.get("/invoices?status=all")
            #expect(!list.contains("BOB-1") && !list.contains("DRAFT-1"))
            let csv = try await browser.get("/invoices.csv?status=all")
            #expect(!csv.body.contains("BOB-1") && !csv.body.contains("DRAFT-1"))
            // Switching to Bob's account is refused as not found.
            _ = try await browser.get("/account")
            let switched = try await browser.post("/account/switch", ["account": bakery.id])
            #expect(switched.status == .notFound)
            // Signed out, every invoice URL sends to the sign-in page.
            let anonymous = Browser(client)
            for path in ["/invoices", "/invoices.csv", "/invoices/\(bobs)", "/invoices/\(bobs).pdf"] {
                let page = try await anonymous.get(path)
                #expect(page.status == .seeOther && page.location == "/login", "\(path)")
            }
        }
    }

    @Test func csvIsRFC4180AndNeutralisesFormulas() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            try await Self.invoice(portal, acme, "=HYPERLINK(\"http://evil.example\",\"x\")", dueIn: 3, amount: 1_234)
            try await Self.invoice(portal, acme, "+1-SUM(A1)", dueIn: 4)
            try await Self.invoice(portal, acme, "@cmd, \"quoted\"", dueIn: 5)
            try await Self.invoice(portal, acme, "-42", dueIn: 6)
            let browser = try await portal.signedIn(client, alice)
            let csv = try await browser.get("/invoices.csv?status=open")
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            let lines = csv.body.components(separatedBy: "\r\n")
            #expect(lines.first == "Number,Issue date,Due date,Status,Currency,Total,Balance")
            #expect(lines.last == "")
            #expect(lines.contains { $0.hasPrefix("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",") })
            #expect(lines.contains { $0.hasPrefix("'+1-SUM(A1),") })
            #expect(lines.contains { $0.hasPrefix("\"'@cmd, \"\"quoted\"\"\",") })
            #expect(lines.contains { $0.hasPrefix("'-42,") })
            #expect(lines.contains { $0.contains(",EUR,12.34,12.34") })
        }
    }

    @Test func hostileInvoiceFieldsRenderInert() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("<script>alert('acct')</script>")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>{{csrf}}{{{csrf}}}javascript:alert(3)"
            let id = try await Self.invoice(portal, acme, "INV-<b>1</b>", dueIn: -1, description: hostile, notes: hostile, billTo: hostile)
            let browser = try await portal.signedIn(client, alice)
            let csrf = try #require(browser.csrf)
            for path in ["/", "/invoices", "/invoices?status=all&q=%3Cb%3E", "/invoices/\(id)"] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(!page.body.contains("<script>alert"), "\(path)")
                #expect(!page.body.contains("<img src=x"), "\(path)")
                #expect(!page.body.contains("<b>1</b>"), "\(path)")
                // Mustache in data is text, never evaluated: the CSRF token must not leak through it.
                #expect(!page.body.contains(csrf + csrf) && !page.body.contains(csrf + "javascript"), "\(path)")
                #expect(!page.body.contains("href=\"javascript:"), "\(path)")
            }
            let detail = try await browser.get("/invoices/\(id)")
            #expect(detail.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;{{csrf}}{{{csrf}}}javascript:alert(3)"))
            #expect(detail.body.contains("INV-&lt;b&gt;1&lt;/b&gt;"))
        }
    }
}

@Suite struct InvoiceLinkTests {
    @Test func listLinksEncodeSearchTextAndKeepTheFilter() {
        var filter = InvoiceFilter(status: .overdue, search: "Łódź & co/#1", sort: .amount, descending: true, page: 3)
        #expect(SitePath.invoiceList(filter) == "/invoices?status=overdue&sort=amount&dir=desc&q=%C5%81%C3%B3d%C5%BA%20%26%20co%2F%231&page=3")
        #expect(SitePath.invoiceCSV(filter) == "/invoices.csv?status=overdue&sort=amount&dir=desc&q=%C5%81%C3%B3d%C5%BA%20%26%20co%2F%231")
        filter.search = ""
        filter.page = 1
        #expect(SitePath.invoiceList(filter) == "/invoices?status=overdue&sort=amount&dir=desc")
    }
}
