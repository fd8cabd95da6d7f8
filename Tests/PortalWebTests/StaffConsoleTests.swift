import Foundation
import GRDB
import HummingbirdTesting
import PortalCore
import Testing

/// The staff console over HTTP: the role matrix, search, the customer page and its actions, and
/// the audit trail with its CSV.
@Suite struct StaffConsoleTests {
    /// Every staff route with the least role that may use it; nil means any signed-in staff member.
    static func routes(customer: String, payment: String) -> [(method: String, path: String, needs: StaffRole)] {
        [("GET", "/staff", .support), ("GET", "/staff?q=alice", .support), ("GET", "/staff/customers/\(customer)", .support),
         ("GET", "/staff/audit", .support), ("GET", "/staff/audit.csv", .support), ("GET", "/staff/payments/\(payment)", .support),
         ("POST", "/staff/payments/\(payment)/refund", .finance), ("POST", "/staff/payments/\(payment)/void", .finance),
         ("GET", "/staff/settings", .admin), ("GET", "/staff/users", .admin), ("POST", "/staff/users", .admin), ("POST", "/staff/customers/\(customer)/lock", .support),
         ("POST", "/staff/customers/\(customer)/mfa-reset", .support),
         ("GET", "/staff/integration", .finance), ("GET", "/staff/integration/reconciliation?from=2027-01-01&to=2027-01-31", .finance),
         ("POST", "/staff/integration/failures/reprocess-all", .finance), ("POST", "/staff/integration/outbox/retry-all", .finance)]
    }

    @Test func roleMatrix() async throws {
        try await PaymentsTests().withAlice { setup, _, _ in
            let portal = setup.portal
            let invoice = try await PaymentsTests().invoice(setup, "INV-RM", dueIn: 3, amount: 1_000)
            let form = try await setup.browser.get("/pay?invoice=\(invoice)")
            let posted = try await setup.browser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": invoice,
                                                               "method": try await PaymentsTests().savedCard(setup)])
            let payment = String(try #require(posted.location).dropFirst("/payments/".count))
            for role in StaffRole.allCases {
                let member = try await ImpersonationTests.staff(portal, "\(role.rawValue)@example.com", role: role)
                let browser = try await ImpersonationTests.signedIn(portal, setup.browser.client, member)
                for route in Self.routes(customer: setup.alice.id, payment: payment) {
                    let page: Page
                    if route.method == "GET" {
                        page = try await browser.get(route.path)
                    } else {
                        _ = try await browser.get("/staff")
                        // Empty forms: an allowed role gets a validation answer (422), a refused one 403.
                        page = try await browser.post(route.path, ["reason": "", "request_key": SecretToken.generate()])
                    }
                    if role.includes(route.needs) {
                        #expect(page.status != .forbidden && page.status != .notFound, "\(role) \(route.method) \(route.path): \(page.status)")
                    } else {
                        #expect(page.status == .forbidden, "\(role) \(route.method) \(route.path): \(page.status)")
                    }
                }
            }
            // Signed out, every staff route sends to the staff sign-in.
            for route in Self.routes(customer: setup.alice.id, payment: payment) where route.method == "GET" {
                #expect(try await Browser(setup.browser.client).get(route.path).location == "/staff/login", "\(route.path)")
            }
        }
    }

    @Test func findACustomerSeeTheirPageLockResetAndTheAuditTrail() async throws {
        try await withPortal { portal, client in
            let support = try await ImpersonationTests.staff(portal, "support@example.com", role: .support)
            let acme = try await portal.account("Acme Widgets GmbH")
            let alice = try await portal.customer("alice@example.com", name: "Alice Andersen", accounts: [acme])
            try await InvoicePagesTests.invoice(portal, acme, "INV-7781", dueIn: 3)
            let customerBrowser = try await portal.signedIn(client, alice)
            let browser = try await ImpersonationTests.signedIn(portal, client, support)

            for query in ["Andersen", "alice@", "Acme", "INV-7781"] {
                let found = try await browser.get("/staff?q=" + (query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query))
                #expect(found.body.contains("/staff/customers/\(alice.id)"), "search \(query)")
            }
            #expect(try await browser.get("/staff?q=nobody-here").contains("No customer matches"))

            let page = try await browser.get("/staff/customers/\(alice.id)")
            #expect(page.status == .ok && page.contains("Alice Andersen") && page.contains("Acme Widgets GmbH") && page.contains("INV-7781"))
            #expect(try await browser.get("/staff/customers/cu_nobody").status == .notFound)

            let noReason = try await browser.post("/staff/customers/\(alice.id)/lock", ["reason": ""])
            #expect(noReason.status == .unprocessableContent)
            let locked = try await browser.post("/staff/customers/\(alice.id)/lock", ["reason": "Card fraud reported"])
            #expect(locked.status == .seeOther)
            #expect(try await customerBrowser.get("/invoices").location == "/login", "locking ends the customer's sessions")
            _ = try await browser.get("/staff/customers/\(alice.id)")
            try await browser.post("/staff/customers/\(alice.id)/unlock", ["reason": "Bank confirmed"])
            _ = try await browser.get("/staff/customers/\(alice.id)")
            let reset = try await browser.post("/staff/customers/\(alice.id)/mfa-reset", ["reason": "Lost phone, identity checked"])
            #expect(reset.status == .seeOther)
            #expect(try await portal.services.mfa.status(.customer(alice.id)).enrolled == false)
            #expect(try await portal.mail(to: alice.email).contains { $0.message.textBody.lowercased().contains("two-step") })

            _ = try await browser.get("/staff/customers/\(alice.id)")
            let invited = try await browser.post("/staff/customers/\(alice.id)/invite", ["account": acme.id, "email": "dora@example.com", "name": "Dora"])
            #expect(invited.status == .seeOther)
            #expect(try await portal.mail(to: "dora@example.com").count == 1)
            let badEmail = try await browser.post("/staff/customers/\(alice.id)/invite", ["account": acme.id, "email": "dora"])
            #expect(badEmail.status == .unprocessableContent && badEmail.contains("valid email"))
            let otherAccount = try await portal.account("Someone Else Ltd")
            #expect(try await browser.post("/staff/customers/\(alice.id)/invite", ["account": otherAccount.id, "email": "x@example.com"]).status == .notFound)

            let audit = try await browser.get("/staff/audit?customer=\(alice.id)")
            #expect(audit.contains("Card fraud reported") && audit.contains("support@example.com"))
            let filtered = try await browser.get("/staff/audit?action=mfa.&actor=support")
            #expect(filtered.contains("mfa.reset") && !filtered.contains("Card fraud reported"))
            let csv = try await browser.get("/staff/audit.csv?customer=\(alice.id)")
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true && csv.body.contains("Card fraud reported"))
            #expect(try await browser.get("/staff/audit?from=yesterday").status == .badRequest)
        }
    }
}
