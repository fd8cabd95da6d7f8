import Foundation
import GRDB
import HummingbirdTesting
import PortalCore
import Testing

/// Staff sign-in with MFA, and viewing the portal as a customer: reasons, limits, the banner, what
/// is refused, staff-assisted payments, expiry and the audit trail with both identities.
@Suite struct ImpersonationTests {
    struct Staff: Sendable {
        var id: String
        var email: String
        var password: String
        var secret: [UInt8]
    }

    static func staff(_ portal: Portal, _ email: String, role: StaffRole) async throws -> Staff {
        let system = AuditEvent(action: "test.seed", actorKind: .system, actorLabel: "tests")
        let user = try await portal.services.directory.createStaff(email: email, name: "Staff \(role.rawValue)", role: role,
                                                                   password: defaultPassword, actor: system)
        let secret = TOTPGenerator.newSecret()
        _ = try await portal.services.mfa.enrolKnownSecret(.staff(user.id), secret: secret)
        return Staff(id: user.id, email: email, password: defaultPassword, secret: secret)
    }

    /// Password then code at /staff/login, in a browser of its own.
    static func signedIn(_ portal: Portal, _ client: any TestClientProtocol, _ staff: Staff) async throws -> Browser {
        let browser = Browser(client)
        let first = try await browser.submit("/staff/login", ["email": staff.email, "password": staff.password])
        try #require(first.location == "/staff/login/mfa", "staff password step answered \(first.status) \(first.location ?? "")")
        portal.nextStep()
        let second = try await browser.submit("/staff/login/mfa", ["code": portal.code(staff.secret)])
        try #require(second.location == "/staff", "staff code step answered \(second.status) \(second.location ?? "")")
        return browser
    }

    static func impersonate(_ browser: Browser, _ customer: Customer, category: String = "customer_request",
                            reason: String = "Customer asked on the phone why an invoice is open") async throws -> Page {
        try await browser.submit("/staff/customers/\(customer.id)", to: "/staff/customers/\(customer.id)/impersonate",
                                 ["category": category, "reason": reason])
    }

    @Test func staffSignInNeedsTheirOwnMFAAndCustomersCannotUseIt() async throws {
        try await withPortal { portal, client in
            let support = try await Self.staff(portal, "support@example.com", role: .support)
            let alice = try await portal.customer("alice@example.com")
            // A customer's credentials don't open the staff console, and a staff member's don't open the portal.
            let customerAtStaff = try await Browser(client).submit("/staff/login", ["email": alice.email, "password": alice.password])
            #expect(customerAtStaff.status == .unauthorized)
            let staffAtPortal = try await Browser(client).submit("/login", ["email": support.email, "password": support.password])
            #expect(staffAtPortal.status == .unauthorized)
            #expect(try await Browser(client).get("/staff").location == "/staff/login")
            let halfway = Browser(client)
            try await halfway.submit("/staff/login", ["email": support.email, "password": support.password])
            #expect(try await halfway.get("/staff").location == "/staff/login/mfa", "MFA is mandatory for staff")
            let browser = try await Self.signedIn(portal, client, support)
            let home = try await browser.get("/staff")
            #expect(home.status == .ok && home.contains("support@example.com") && browser.cookie("portal_session") == nil)
            #expect(browser.cookie("portal_staff") != nil)
            // The staff session does not sign anyone in to the customer portal.
            #expect(try await browser.get("/invoices").location == "/login")
            #expect(try await browser.post("/staff/logout").location == "/staff/login")
            #expect(try await browser.get("/staff").location == "/staff/login")
        }
    }

    @Test func startingNeedsAReasonAnActiveCustomerAndNeverAStaffAccountOrNesting() async throws {
        try await withPortal { portal, client in
            let support = try await Self.staff(portal, "support@example.com", role: .support)
            let alice = try await portal.customer("alice@example.com")
            let carol = try await portal.customer("carol@example.com", enrolled: false)
            let browser = try await Self.signedIn(portal, client, support)
            let noReason = try await Self.impersonate(browser, alice, reason: "  ")
            #expect(noReason.status == .unprocessableContent && noReason.contains("Give the reason"))
            let badCategory = try await Self.impersonate(browser, alice, category: "curiosity")
            #expect(badCategory.status == .unprocessableContent)
            // A customer sign-in that shares a staff member's email is a staff account in disguise.
            let twin = try await portal.customer("support@example.com")
            #expect(try await Self.impersonate(browser, twin).contains("staff accounts can never be viewed as"))
            try await portal.database.write { db in
                try db.execute(sql: "UPDATE customer_users SET status = 'disabled' WHERE id = ?", arguments: [carol.id])
            }
            #expect(try await Self.impersonate(browser, carol).contains("not active"))
            #expect(try await browser.post("/staff/customers/cu_nobody/impersonate", ["category": "other", "reason": "x"]).status == .notFound)
            #expect(try await portal.audit("impersonation.start").isEmpty)

            let started = try await Self.impersonate(browser, alice)
            #expect(started.location == "/")
            let bob = try await portal.customer("bob@example.com")
            let nested = try await Self.impersonate(browser, bob)
            #expect(nested.contains("already viewing as a customer"))
        }
    }

    @Test func theBannerIsOnEveryCustomerPageAndChangesAreRefused() async throws {
        try await withPortal { portal, client in
            let support = try await Self.staff(portal, "support@example.com", role: .support)
            let acme = try await portal.account("Acme Widgets GmbH")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let invoice = try await InvoicePagesTests.invoice(portal, acme, "INV-IMP", dueIn: 5)
            let lastSignIn = try await portal.services.users.credential(.customer(alice.id))?.lastSignInAt
            let browser = try await Self.signedIn(portal, client, support)
            try await Self.impersonate(browser, alice)
            for path in ["/", "/invoices", "/invoices/\(invoice)", "/payments", "/payment-methods", "/autopay", "/account"] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(page.body.contains("id=\"impersonation-banner\"") && page.contains("Viewing as") && page.contains("alice@example.com")
                        && page.contains("by support@example.com") && page.contains("ends at"), "banner on \(path)")
            }
            let account = try await browser.get("/account")
            #expect(account.contains("Support started viewing your account"))
            let attempts: [(String, [(String, String)])] = [
                ("/account/password", [("current_password", "x"), ("new_password", "y"), ("new_password_confirm", "y")]),
                ("/account/mfa/reset", [("password", "x"), ("code", "123456")]), ("/account/recovery-codes", [("password", "x")]),
                ("/account/sessions/revoke-others", []), ("/account/sessions/revoke", [("session", "ses_x")]),
                ("/payment-methods", [("token", "tok_x"), ("billing_name", "A"), ("billing_postcode", "1")]),
                ("/payment-methods/pm_x/remove", []), ("/payment-methods/pm_x/default", []),
                ("/autopay", [("method", "pm_x"), ("timing", "due_date"), ("consent", "yes")]), ("/autopay/cancel", []), ("/autopay/plans", []),
                ("/pay", [("invoice", invoice), ("request_key", SecretToken.generate()), ("method", "pm_x")]),
            ]
            for (path, fields) in attempts {
                _ = try await browser.get("/account")
                let body = Browser.urlEncode(fields + [("_csrf", try #require(browser.csrf))])
                let refused = try await browser.request(.post, path, headers: [.contentType: "application/x-www-form-urlencoded"], body: body)
                #expect(refused.status == .forbidden, "POST \(path) answered \(refused.status)")
            }
            // Nothing changed on the customer's side: no sign-in recorded, no customer session made.
            #expect(try await portal.services.users.credential(.customer(alice.id))?.lastSignInAt == lastSignIn)
            #expect(try await portal.sessionCount(of: alice) == 0)

            _ = try await browser.get("/")
            let stopped = try await browser.post("/staff/impersonation/stop")
            #expect(stopped.location == "/staff/customers/\(alice.id)")
            #expect(try await browser.get("/invoices").location == "/login")
            #expect(try await browser.get("/staff").status == .ok, "the staff member's own session carries on")
            let start = try #require(try await portal.audit("impersonation.start").first)
            #expect(start.actorId == support.id && start.subject == .customer(alice.id) && start.details["category"] == "customer_request"
                    && start.details["reason"]?.contains("invoice is open") == true && !start.clientAddress.isEmpty)
            #expect(try await portal.audit("impersonation.stop").first?.impersonatorId == support.id)
        }
    }

    @Test func onlyFinanceTakesAStaffAssistedPaymentRecordedWithBothIdentities() async throws {
        try await PaymentsTests().withAlice { setup, _, _ in
            let portal = setup.portal
            let invoice = try await PaymentsTests().invoice(setup, "INV-SA", dueIn: 3, amount: 2_000)
            let card = try await PaymentsTests().savedCard(setup)
            let support = try await Self.staff(portal, "support@example.com", role: .support)
            let finance = try await Self.staff(portal, "finance@example.com", role: .finance)
            let supportBrowser = try await Self.signedIn(portal, setup.browser.client, support)
            try await Self.impersonate(supportBrowser, setup.alice)
            let form = try await supportBrowser.get("/pay?invoice=\(invoice)")
            let refused = try await supportBrowser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": invoice,
                                                                 "method": card])
            #expect(refused.status == .forbidden && refused.contains("only finance staff"))

            let financeBrowser = try await Self.signedIn(portal, setup.browser.client, finance)
            try await Self.impersonate(financeBrowser, setup.alice, category: "payment_problem", reason: "Paying by phone")
            let payForm = try await financeBrowser.get("/pay?invoice=\(invoice)")
            let paid = try await financeBrowser.post("/pay", ["request_key": try #require(payForm.hiddenField("request_key")), "invoice": invoice,
                                                              "method": card])
            #expect(paid.status == .seeOther)
            #expect(try await PaymentsTests().status(setup, invoice) == ("paid", 0))
            let source = try await portal.database.read { db in try String.fetchOne(db, sql: "SELECT source FROM payments") }
            #expect(source == "staff_assisted")
            let submitted = try #require(try await portal.audit("payment.submit").first)
            #expect(submitted.impersonatorId == finance.id && submitted.actorId == setup.alice.id
                    && submitted.actorLabel == "finance@example.com as alice@example.com")
        }
    }

    @Test func theTimeLimitEndsItAndReturnsToTheConsole() async throws {
        try await withPortal { portal, client in
            let support = try await Self.staff(portal, "support@example.com", role: .support)
            let alice = try await portal.customer("alice@example.com")
            let browser = try await Self.signedIn(portal, client, support)
            try await Self.impersonate(browser, alice)
            #expect(try await browser.get("/invoices").status == .ok)
            portal.clock.advance(by: 29 * 60)
            #expect(try await browser.get("/invoices").status == .ok)
            portal.clock.advance(by: 2 * 60)
            let expired = try await browser.get("/invoices")
            #expect(expired.location == "/staff/customers/\(alice.id)")
            #expect(try await browser.get("/invoices").location == "/login")
            #expect(try await portal.audit("impersonation.expire").count == 1)
        }
    }
}
