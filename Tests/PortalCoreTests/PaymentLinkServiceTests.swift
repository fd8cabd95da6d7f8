import Foundation
import GRDB
import Testing
@testable import PortalCore

/// Signing, verifying, rotating, expiring and revoking payment links, against a real SQLite file.
@Suite struct PaymentLinkServiceTests {
    struct World {
        let t: TestServices
        let acme: Account
        let other: Account
        var links: PaymentLinkService { t.services.paymentLinks }
    }

    static let api = AuditEvent(action: "", actorKind: .system, actorId: "key_test", actorLabel: "api key tests")

    func world() async throws -> World {
        let t = try await TestServices()
        let acme = try await t.services.directory.upsertAccount(name: "Acme", externalId: "crm-acme")
        let other = try await t.services.directory.upsertAccount(name: "Other", externalId: "crm-other")
        return World(t: t, acme: acme, other: other)
    }

    func token(_ url: String) -> String { String(url.split(separator: "/").last!) }

    @Test func issuesASignedLinkThatVerifiesToItsInvoiceAndIsReused() async throws {
        let w = try await world()
        let id = try await w.t.invoice(w.acme, number: "INV-1", total: 12_000)
        let link = try await w.links.issue(invoiceId: id, actor: Self.api)
        #expect(link.url.hasPrefix("https://portal.test/pay/") && !link.reused && link.invoiceId == id)
        let verified = try await w.links.verify(token(link.url))
        #expect(verified.invoice.id == id && verified.invoice.number == "INV-1" && verified.state == .payable)
        #expect(verified.scope.accountId == w.acme.id && verified.scope.userId == nil && verified.scope.paymentLinkId == link.id)
        let again = try await w.links.issue(invoiceId: id, actor: Self.api)
        #expect(again.url == link.url && again.reused && again.expiresAt == link.expiresAt)
        let events = try await w.t.services.audit.events(action: "payment_link.issue")
        #expect(events.count == 1 && events[0].actorLabel == "api key tests" && events[0].details["invoice"] == id)
        // The token is not stored anywhere.
        let stored = try await w.t.database.pool.read { db in try String.fetchAll(db, sql: "SELECT id || key_id || created_by FROM payment_links") }
        #expect(!stored.contains { $0.contains(token(link.url).split(separator: ".")[2]) })
    }

    @Test func findsTheInvoiceByItsCRMIdAndRefusesUnpayableOnes() async throws {
        let w = try await world()
        let id = try await w.t.services.invoices.upsert(InvoiceInput(
            accountId: w.acme.id, externalId: "6F9619FF-8B86-D011-B42D-00C04FC964FF", number: "INV-CRM", issueDate: CalendarDate(iso: "2027-01-01")!,
            dueDate: CalendarDate(iso: "2027-01-31")!, currency: CurrencyCode("USD")!,
            lines: [InvoiceLine(position: 1, description: "x", quantity: Quantity(milli: 1000), unitPrice: 500, lineTotal: 500)],
            subtotal: 500, taxTotal: 0, total: 500))
        #expect(try await w.links.issue(invoiceId: "6f9619ff-8b86-d011-b42d-00c04fc964ff", actor: Self.api).invoiceId == id)
        await #expect(throws: PaymentLinkError.invoiceNotFound) { try await w.links.issue(invoiceId: "nope", actor: Self.api) }
        let void = try await w.t.services.invoices.upsert(InvoiceInput(
            accountId: w.acme.id, externalId: "crm-void", number: "INV-VOID", issueDate: CalendarDate(iso: "2027-01-01")!,
            dueDate: CalendarDate(iso: "2027-01-31")!, currency: CurrencyCode("USD")!,
            lines: [InvoiceLine(position: 1, description: "x", quantity: Quantity(milli: 1000), unitPrice: 500, lineTotal: 500)],
            subtotal: 500, taxTotal: 0, total: 500, crmStatus: .void))
        await #expect(throws: PaymentLinkError.invoiceNotPayable("INV-VOID")) { try await w.links.issue(invoiceId: void, actor: Self.api) }
    }

    @Test func expiryDefaultsToTheLaterOfSixtyDaysFromIssueAndThirtyAfterDueAndIsConfigurable() async throws {
        let w = try await world()
        // Issued 1 Jan, due 31 Jan: 60 days from issue (2 Mar) is the same day as 30 after due (2 Mar).
        let early = try await w.t.invoice(w.acme, number: "INV-A", issued: "2027-01-01", due: "2027-01-31")
        let a = try await w.links.issue(invoiceId: early, actor: Self.api)
        #expect(a.expiresAt == Int64(CalendarDate(iso: "2027-03-03")!.date.timeIntervalSince1970))
        // Due 15 Mar: 30 days after due (14 Apr) is later.
        let late = try await w.t.invoice(w.acme, number: "INV-B", issued: "2027-01-01", due: "2027-03-15")
        let b = try await w.links.issue(invoiceId: late, actor: Self.api)
        #expect(b.expiresAt == Int64(CalendarDate(iso: "2027-04-15")!.date.timeIntervalSince1970))
        // An old invoice still gets a week from now, not a link born expired.
        let old = try await w.t.invoice(w.acme, number: "INV-C", issued: "2026-01-01", due: "2026-01-31")
        let c = try await w.links.issue(invoiceId: old, actor: Self.api)
        #expect(c.expiresAt == w.t.clock.clock.nowSeconds() + 7 * 86_400)
        // The setting.
        let policy = PaymentLinkPolicy(daysFromIssue: 10, daysAfterDue: 5)
        #expect(policy.expiry(issueDate: CalendarDate(iso: "2027-02-01")!, dueDate: CalendarDate(iso: "2027-02-03")!, now: 0)
                == Int64(CalendarDate(iso: "2027-02-12")!.date.timeIntervalSince1970))
        // Once expired: refused as expired, and issuing again makes a new link.
        w.t.clock.set(Date(timeIntervalSince1970: TimeInterval(a.expiresAt)))
        await #expect(throws: PaymentLinkError.expired) { try await w.links.verify(token(a.url)) }
        #expect(try await w.links.inspect(token(a.url)).state == .expired)
        let renewed = try await w.links.issue(invoiceId: early, actor: Self.api)
        #expect(!renewed.reused && renewed.url != a.url && renewed.expiresAt > a.expiresAt)
    }

    @Test func tamperingWithAnyPartOfTheTokenIsRefusedAlike() async throws {
        let w = try await world()
        let first = try await w.links.issue(invoiceId: try await w.t.invoice(w.acme, number: "INV-1"), actor: Self.api)
        let second = try await w.links.issue(invoiceId: try await w.t.invoice(w.other, number: "INV-2"), actor: Self.api)
        let parts = token(first.url).split(separator: ".").map(String.init)
        let otherParts = token(second.url).split(separator: ".").map(String.init)
        func flip(_ text: String) -> String {
            var chars = Array(text)
            chars[chars.count / 2] = chars[chars.count / 2] == "A" ? "B" : "A"
            return String(chars)
        }
        func joined(_ a: String, _ b: String, _ c: String) -> String { a + "." + b + "." + c }
        var forged: [String] = ["", "garbage", String(repeating: "a", count: 5000)]
        forged.append(joined("99", parts[1], parts[2]))
        forged.append(joined("0" + parts[0], parts[1], parts[2]))
        forged.append(joined("+" + parts[0], parts[1], parts[2]))
        forged.append(joined(parts[0], flip(parts[1]), parts[2]))
        forged.append(joined(parts[0], parts[1], flip(parts[2])))
        forged.append(joined(parts[0], parts[1], String(parts[2].dropLast())))
        forged.append(joined(parts[0], parts[1], parts[2]) + ".x")
        // Another invoice's link id under this link's signature, and the reverse.
        forged.append(joined(parts[0], otherParts[1], parts[2]))
        forged.append(joined(otherParts[0], parts[1], otherParts[2]))
        for candidate in forged where candidate != token(first.url) {
            await #expect(throws: PaymentLinkError.invalid, "\(candidate.prefix(80))") { try await w.links.inspect(candidate) }
        }
        #expect(try await w.links.verify(token(first.url)).invoice.number == "INV-1")
        #expect(try await w.links.verify(token(second.url)).invoice.number == "INV-2")
    }

    @Test func rotationSignsNewLinksWithTheNewKeyAndOldLinksWorkUntilTheirKeyIsRetired() async throws {
        let w = try await world()
        let oldLink = try await w.links.issue(invoiceId: try await w.t.invoice(w.acme, number: "INV-OLD"), actor: Self.api)
        let firstKey = try #require(try await w.links.keys.list().first)
        let newKey = try await w.links.keys.rotate()
        #expect(newKey != firstKey.id && token(oldLink.url).hasPrefix("\(firstKey.id)."))
        let newLink = try await w.links.issue(invoiceId: try await w.t.invoice(w.acme, number: "INV-NEW"), actor: Self.api)
        #expect(token(newLink.url).hasPrefix("\(newKey)."))
        #expect(try await w.links.verify(token(oldLink.url)).state == .payable)
        #expect(try await w.links.verify(token(newLink.url)).state == .payable)
        await #expect(throws: PaymentLinkError.currentKey) { try await w.links.keys.retire(id: newKey) }
        try await w.links.keys.retire(id: firstKey.id)
        await #expect(throws: PaymentLinkError.revoked) { try await w.links.verify(token(oldLink.url)) }
        #expect(try await w.links.verify(token(newLink.url)).state == .payable)
        // The old invoice gets a fresh link under the current key.
        let replacement = try await w.links.issue(invoiceId: oldLink.invoiceId, actor: Self.api)
        #expect(!replacement.reused && token(replacement.url).hasPrefix("\(newKey)."))
        // Keys are sealed at rest: the stored bytes are not a usable 32-byte key.
        let stored = try await w.t.database.pool.read { db in try Data.fetchAll(db, sql: "SELECT sealed_key FROM payment_link_keys") }
        #expect(stored.allSatisfy { $0.count > 32 })
    }

    @Test func revokingIsForFinanceWithAReasonAuditedAndANewLinkCanBeIssued() async throws {
        let w = try await world()
        let invoice = try await w.t.invoice(w.acme, number: "INV-R")
        let link = try await w.links.issue(invoiceId: invoice, actor: Self.api)
        let support = try await w.t.staffMember("sue@example.com", role: .support)
        let finance = try await w.t.staffMember("fin@example.com", role: .finance)
        await #expect(throws: PaymentLinkError.notAllowed) {
            try await w.links.revoke(invoiceId: invoice, reason: "leaked", actor: w.t.actor(support))
        }
        await #expect(throws: PaymentLinkError.reasonRequired) { try await w.links.revoke(invoiceId: invoice, reason: " ", actor: w.t.actor(finance)) }
        #expect(try await w.links.revoke(invoiceId: invoice, reason: "sent to the wrong address", actor: w.t.actor(finance)) == 1)
        await #expect(throws: PaymentLinkError.revoked) { try await w.links.verify(token(link.url)) }
        let event = try #require(try await w.t.services.audit.events(action: "payment_link.revoke").first)
        #expect(event.actorId == finance.id && event.details["reason"] == "sent to the wrong address" && event.details["links"] == link.id)
        let fresh = try await w.links.issue(invoiceId: invoice, actor: w.t.actor(finance))
        #expect(!fresh.reused && fresh.url != link.url)
        #expect(try await w.links.verify(token(fresh.url)).state == .payable)
    }

    @Test func aLinkScopeReachesOnlyItsInvoiceAndEveryOtherServiceRefusesIt() async throws {
        let w = try await world()
        let mine = try await w.t.invoice(w.acme, number: "INV-MINE")
        let sibling = try await w.t.invoice(w.acme, number: "INV-SIBLING")
        let card = try await w.t.savedCard(w.acme, gatewayMethodId: "pm_gw", gatewayCustomerId: "cus_gw")
        let link = try await w.links.verify(token(try await w.links.issue(invoiceId: mine, actor: Self.api).url))
        let s = w.t.services
        #expect(try await s.invoices.detail(link.scope, invoiceId: mine).summary.number == "INV-MINE")
        await #expect(throws: InvoiceError.notFound) { try await s.invoices.detail(link.scope, invoiceId: sibling) }
        // The account itself is the members': the services refuse a link's holder as they refuse a stranger.
        await #expect(throws: InvoiceError.notFound) { try await s.invoices.list(link.scope, filter: InvoiceFilter()) }
        await #expect(throws: InvoiceError.notFound) { try await s.invoices.dashboard(link.scope) }
        await #expect(throws: InvoiceError.notFound) { try await s.invoices.export(link.scope, filter: InvoiceFilter()) }
        await #expect(throws: InvoiceError.notFound) { try await s.paymentMethods.list(link.scope) }
        await #expect(throws: InvoiceError.notFound) {
            try await s.paymentMethods.setDefault(link.scope, methodId: card, actor: Self.api)
        }
        await #expect(throws: InvoiceError.notFound) { try await s.autopay.current(link.scope) }
        await #expect(throws: InvoiceError.notFound) { try await s.autopay.upcoming(link.scope) }
        await #expect(throws: InvoiceError.notFound) { try await s.plans.list(link.scope) }
        await #expect(throws: PaymentError.notFound) { try await s.payments.history(link.scope, page: 1) }
        // Payable: its own invoice only, never with or instead of another of the account's.
        let draft = try await s.payments.draft(link.scope, invoiceIds: [mine])
        #expect(draft.invoices.map(\.number) == ["INV-MINE"] && draft.methods.isEmpty)
        await #expect(throws: PaymentError.notFound) { try await s.payments.draft(link.scope, invoiceIds: [sibling]) }
        await #expect(throws: PaymentError.notFound) { try await s.payments.draft(link.scope, invoiceIds: [mine, sibling]) }
        // A link to another account's invoice opens nothing of this one.
        let foreign = try await w.links.verify(token(try await w.links.issue(invoiceId: try await w.t.invoice(w.other, number: "INV-O"),
                                                                              actor: Self.api).url))
        await #expect(throws: InvoiceError.notFound) { try await s.invoices.detail(foreign.scope, invoiceId: mine) }
    }

    @Test func issuingIsForTheSystemAndFinanceOrAdminStaffOnly() async throws {
        let w = try await world()
        let invoice = try await w.t.invoice(w.acme, number: "INV-I")
        let support = try await w.t.staffMember("sue@example.com", role: .support)
        let finance = try await w.t.staffMember("fin@example.com", role: .finance)
        let admin = try await w.t.staffMember("ada@example.com", role: .admin)
        await #expect(throws: PaymentLinkError.notAllowed) { try await w.links.issue(invoiceId: invoice, actor: w.t.actor(support)) }
        let customer = AuditEvent(action: "", actorKind: .customer, actorId: "usr_x", actorLabel: "a customer")
        await #expect(throws: PaymentLinkError.notAllowed) { try await w.links.issue(invoiceId: invoice, actor: customer) }
        await #expect(throws: PaymentLinkError.notAllowed) {
            try await w.links.issue(invoiceId: invoice, actor: AuditEvent(action: "", actorKind: .anonymous, actorLabel: "payment link"))
        }
        #expect(try await w.t.services.audit.events(action: "payment_link.issue").isEmpty)
        #expect(!(try await w.links.issue(invoiceId: invoice, actor: w.t.actor(finance)).reused))
        #expect(try await w.links.issue(invoiceId: invoice, actor: w.t.actor(admin)).reused)
        #expect(try await w.links.issue(invoiceId: invoice, actor: Self.api).reused)
    }

    /// What the outbox will tell the CRM about the invoice's link, oldest first: "link:<id>" (its URL
    /// rebuilt at push time) or "clear" (a withdrawal empties the field). No token is stored.
    func linkPushes(_ w: World, _ invoiceId: String) async throws -> [String] {
        try await w.t.database.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT json_extract(payload, '$.link_id') AS link, json_extract(payload, '$.clears_link') AS clears, payload FROM crm_outbox
                WHERE topic = 'invoice.link' AND invoice_id = ? ORDER BY id
                """, arguments: [invoiceId]).map { row -> String in
                let payload: String = row["payload"]
                precondition(!payload.contains("/pay/"), "a link's token is stored in the outbox: \(payload)")
                return (row["clears"] as Bool?) == true ? "clear" : "link:" + ((row["link"] as String?) ?? "?")
            }
        }
    }

    @Test func aWithdrawnLinkIsClearedInTheCRMAndNotReissuedUntilStaffIssueOne() async throws {
        let w = try await world()
        let crm = try await w.t.services.invoices.upsert(InvoiceInput(
            accountId: w.acme.id, externalId: "crm-inv-1", number: "INV-CRM", issueDate: CalendarDate(iso: "2027-01-01")!,
            dueDate: CalendarDate(iso: "2027-01-31")!, currency: CurrencyCode("USD")!,
            lines: [InvoiceLine(position: 1, description: "x", quantity: Quantity(milli: 1000), unitPrice: 500, lineTotal: 500)],
            subtotal: 500, taxTotal: 0, total: 500))
        let finance = try await w.t.staffMember("fin@example.com", role: .finance)
        let pass = AuditEvent(action: "", actorKind: .system, actorLabel: "CRM sync")
        #expect(try await w.links.issueMissingForCRMInvoices(limit: 10, actor: pass) == 1)
        let first = try #require(try await w.links.current(invoiceId: crm))
        try await w.links.revoke(invoiceId: crm, reason: "disputed", actor: w.t.actor(finance))
        var pushes = try await linkPushes(w, crm)
        #expect(pushes == ["link:\(first.id)", "clear"])
        // Every later pass leaves the disputed invoice without a link.
        #expect(try await w.links.issueMissingForCRMInvoices(limit: 10, actor: pass) == 0)
        w.t.clock.advance(by: 86_400)
        #expect(try await w.links.issueMissingForCRMInvoices(limit: 10, actor: pass) == 0)
        #expect(try await w.links.current(invoiceId: crm) == nil)
        // Staff issue a new link: it is sent, and withdrawing it again clears the field again.
        let fresh = try await w.links.issue(invoiceId: crm, actor: w.t.actor(finance))
        try await w.links.revoke(invoiceId: crm, reason: "still disputed", actor: w.t.actor(finance))
        pushes = try await linkPushes(w, crm)
        #expect(pushes == ["link:\(first.id)", "clear", "link:\(fresh.id)", "clear"])
        // A link staff issued that simply expires is replaced by the pass as before.
        let third = try await w.links.issue(invoiceId: crm, actor: w.t.actor(finance))
        w.t.clock.set(Date(timeIntervalSince1970: TimeInterval(third.expiresAt)))
        #expect(try await w.links.issueMissingForCRMInvoices(limit: 10, actor: pass) == 1)
        // An invoice the CRM did not send has no field to clear.
        let local = try await w.t.invoice(w.acme, number: "INV-LOCAL")
        _ = try await w.links.issue(invoiceId: local, actor: Self.api)
        try await w.links.revoke(invoiceId: local, reason: "no", actor: w.t.actor(finance))
        #expect(try await linkPushes(w, local).isEmpty)
    }
}
