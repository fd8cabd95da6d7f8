import Foundation
import PortalCore
import Testing

/// Every route, as each kind of visitor: anonymous, half signed in, and signed in.
@Suite struct RoutesTests {
    static let customerPages = ["/", "/account", "/invoices", "/invoices.csv", "/invoices/inv_AAAAAAAAAAAAAAAAAAAAAA",
                                "/invoices/inv_AAAAAAAAAAAAAAAAAAAAAA.pdf", "/pay?invoice=inv_AAAAAAAAAAAAAAAAAAAAAA", "/payments",
                                "/payments/pay_AAAAAAAAAAAAAAAAAAAAAA", "/autopay", "/payment-methods"]
    static let customerActions = ["/account/password", "/account/recovery-codes", "/account/mfa/reset", "/account/sessions/revoke",
                                  "/account/sessions/revoke-others", "/account/switch", "/pay/review", "/pay",
                                  "/payments/pay_AAAAAAAAAAAAAAAAAAAAAA/authenticated", "/autopay", "/autopay/pause", "/autopay/resume",
                                  "/autopay/cancel", "/autopay/plans", "/autopay/plans/plan_AAAAAAAAAAAAAAAAAAAAAA/cancel"]

    @Test func publicPagesAnswerAnonymousVisitors() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            for (path, heading) in [("/login", "Sign in"), ("/password/forgot", "Reset your password")] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(page.body.contains("<h1>\(heading)</h1>"), "\(path)")
                #expect(page.csrf?.isEmpty == false, "\(path)")
                #expect(!page.body.contains("Sign out"), "\(path)")
            }
            #expect(try await browser.get("/healthz").status == .ok)
            #expect(try await browser.get("/invite/unknown").status == .gone)
            #expect(try await browser.get("/password/reset/unknown").status == .gone)
            #expect(try await browser.get("/login/mfa").location == "/login")
            #expect(try await browser.get("/account/mfa/setup").location == "/login")
        }
    }

    @Test func customerRoutesSendAnonymousVisitorsToSignIn() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            for path in Self.customerPages {
                let page = try await browser.get(path)
                #expect(page.status == .seeOther, "GET \(path)")
                #expect(page.location == "/login", "GET \(path)")
            }
            for path in Self.customerActions {
                try await browser.get("/login")
                let page = try await browser.post(path, ["password": "x", "session": "ses_x", "account": "acc_x"])
                #expect(page.status == .seeOther, "POST \(path)")
                #expect(page.location == "/login", "POST \(path)")
                let forged = try await browser.post(path, ["password": "x"], csrf: .none)
                #expect(forged.status == .forbidden, "POST \(path) without token")
            }
            try await browser.get("/login")
            let logout = try await browser.post("/logout")
            #expect(logout.location == "/login")
        }
    }

    @Test func customerRoutesSendAHalfSignedInVisitorToTheCodeStep() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            for path in Self.customerPages {
                #expect(try await browser.get(path).location == "/login/mfa", "GET \(path)")
            }
            for path in Self.customerActions {
                try await browser.get("/login/mfa")
                let page = try await browser.post(path, ["password": alice.password, "current_password": alice.password,
                                                         "new_password": "a brand new passphrase", "new_password_confirm": "a brand new passphrase"])
                #expect(page.location == "/login/mfa", "POST \(path)")
            }
            #expect(try await portal.passwordMatches(alice, alice.password))
            #expect(try await portal.services.mfa.status(.customer(alice.id)).enrolled)
        }
    }

    @Test func everyCustomerRouteAnswersASignedInCustomer() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let orsted = try await portal.account("Ørsted & Müller Consulting")
            let alice = try await portal.customer("alice@example.com", accounts: [acme, orsted])
            let other = try await portal.signedIn(client, alice)
            let browser = try await portal.signedIn(client, alice)
            let otherId = try #require(try await portal.sessionPublicIds(of: alice).first)

            #expect(try await browser.get("/").status == .ok)
            #expect(try await browser.get("/account").status == .ok)
            #expect(try await browser.get("/invoices").status == .ok)
            #expect(try await browser.get("/invoices.csv").status == .ok)
            // Someone else's (here: no one's) invoice is simply not there.
            #expect(try await browser.get("/invoices/inv_AAAAAAAAAAAAAAAAAAAAAA").status == .notFound)
            #expect(try await browser.get("/payments").status == .ok)
            #expect(try await browser.get("/autopay").status == .ok)
            #expect(try await browser.get("/payments/pay_AAAAAAAAAAAAAAAAAAAAAA").status == .notFound)
            #expect(try await browser.get("/pay?invoice=inv_AAAAAAAAAAAAAAAAAAAAAA").status == .notFound)
            #expect(try await browser.submit("/", to: "/account/switch", ["account": orsted.id]).status == .seeOther)
            #expect(try await browser.submit("/account", to: "/account/recovery-codes", ["password": alice.password]).status == .ok)
            #expect(try await browser.submit("/account", to: "/account/sessions/revoke", ["session": otherId]).status == .seeOther)
            #expect(try await other.get("/").location == "/login")
            _ = try await portal.signedIn(client, alice)
            #expect(try await browser.submit("/account", to: "/account/sessions/revoke-others", [:]).status == .seeOther)
            let newPassword = "a brand new passphrase"
            #expect(try await browser.submit("/account", to: "/account/password", [
                "current_password": alice.password, "new_password": newPassword, "new_password_confirm": newPassword,
            ]).status == .seeOther)
            portal.nextStep()
            #expect(try await browser.submit("/account", to: "/account/mfa/reset", [
                "password": newPassword, "code": portal.code(alice.secret),
            ]).location == "/account/mfa/setup")
            try await browser.get("/account/mfa/setup")
            #expect(try await browser.post("/logout").location == "/login")
            #expect(try await portal.sessionCount(of: alice) == 0)
        }
    }
}
