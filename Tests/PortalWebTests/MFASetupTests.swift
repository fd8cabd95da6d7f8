import Foundation
import GRDB
import PortalCore
import Testing

/// A user without an authenticator may see only the enrolment page until they have one.
@Suite struct MFASetupTests {
    @Test func aUserWithoutMFAIsSentToEnrolmentFromEveryCustomerPage() async throws {
        try await withPortal { portal, client in
            let bob = try await portal.customer("bob@example.com", enrolled: false)
            let browser = Browser(client)
            let password = try await browser.submit("/login", ["email": bob.email, "password": bob.password])
            #expect(password.status == .seeOther)
            #expect(password.location == "/account/mfa/setup")

            for path in ["/", "/account", "/invoices", "/invoices.csv", "/invoices/inv_AAAAAAAAAAAAAAAAAAAAAA", "/login"] {
                let page = try await browser.get(path)
                #expect(page.status == .seeOther, "GET \(path)")
                #expect(page.location == "/account/mfa/setup", "GET \(path)")
            }
            let setup = try await browser.get("/account/mfa/setup")
            #expect(setup.status == .ok)
            for path in ["/account/password", "/account/recovery-codes", "/account/mfa/reset", "/account/sessions/revoke",
                         "/account/sessions/revoke-others", "/account/switch"] {
                let page = try await browser.post(path, ["password": bob.password, "current_password": bob.password])
                #expect(page.status == .seeOther, "POST \(path)")
                #expect(page.location == "/account/mfa/setup", "POST \(path)")
            }
            // The code page is not a way round it either.
            #expect(try await browser.get("/login/mfa").location == "/login")
            #expect(try await portal.audit("password.change").isEmpty)
        }
    }

    @Test func enrolmentShowsAKeyAndAcceptsOnlyTheRightCode() async throws {
        try await withPortal { portal, client in
            let bob = try await portal.customer("bob@example.com", enrolled: false)
            let browser = Browser(client)
            try await browser.submit("/login", ["email": bob.email, "password": bob.password])

            let setup = try await browser.get("/account/mfa/setup")
            #expect(setup.status == .ok)
            #expect(setup.contains("Set up two-step sign-in"))
            #expect(setup.body.contains("<svg"))
            #expect(setup.contains("Account: bob@example.com"))
            let secretText = try #require(setup.attributeValues("data-secret").first)
            let secret = try #require(Base32.decode(secretText))
            // Reloading keeps the same key, so a key already scanned still works.
            #expect(try await browser.get("/account/mfa/setup").attributeValues("data-secret").first == secretText)

            let wrong = try await browser.post("/account/mfa/setup", ["code": portal.wrongCode(secret)])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.contains("That code didn't match."))
            #expect(try await portal.services.mfa.status(.customer(bob.id)).enrolled == false)

            let enrolment = try #require(browser.sessionCookie)
            let done = try await browser.post("/account/mfa/setup", ["code": TOTPGenerator(secret: secret).code(at: portal.clock.date)])
            #expect(done.status == .ok)
            #expect(done.contains("Save your recovery codes"))
            let codes = done.recoveryCodes
            #expect(codes.count == 10)
            #expect(Set(codes).count == 10)
            // Enrolment is a privilege step: a new session id.
            #expect(browser.sessionCookie != nil && browser.sessionCookie != enrolment)

            #expect(try await browser.get("/").status == .ok)
            #expect(try await browser.get("/account/mfa/setup").location == "/account")
            let status = try await portal.services.mfa.status(.customer(bob.id))
            #expect(status.enrolled && status.recoveryCodesRemaining == 10)
            #expect(try await portal.audit("mfa.enrolled").first?.actorId == bob.id)
            #expect(try await portal.audit("sign_in.success").first?.details["method"] == "enrolment")

            // The enrolled key and the recovery codes now sign in.
            try await browser.post("/logout", csrf: .token(try #require(try await browser.get("/").csrf)))
            let again = Browser(client)
            try await again.submit("/login", ["email": bob.email, "password": bob.password])
            portal.nextStep()
            #expect(try await again.submit("/login/mfa", ["code": TOTPGenerator(secret: secret).code(at: portal.clock.date)]).location == "/")
            let third = Browser(client)
            try await third.submit("/login", ["email": bob.email, "password": bob.password])
            #expect(try await third.submit("/login/mfa", ["code": codes[3]]).location == "/")
        }
    }

    @Test func theSetupPageNeedsAnEnrolmentSession() async throws {
        try await withPortal { portal, client in
            let anonymous = Browser(client)
            #expect(try await anonymous.get("/account/mfa/setup").location == "/login")
            try await anonymous.get("/login")
            #expect(try await anonymous.post("/account/mfa/setup", ["code": "123456"]).location == "/login")

            let alice = try await portal.customer("alice@example.com")
            let pending = Browser(client)
            try await pending.submit("/login", ["email": alice.email, "password": alice.password])
            #expect(try await pending.get("/account/mfa/setup").location == "/login/mfa")
            // A password-stage session cannot enrol a second authenticator behind the real one.
            try await pending.get("/login/mfa")
            #expect(try await pending.post("/account/mfa/setup", ["code": "123456"]).location == "/login")

            let signedIn = try await portal.signedIn(client, alice)
            #expect(try await signedIn.get("/account/mfa/setup").location == "/account")
            let credentials = try await portal.database.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM mfa_credentials WHERE principal_id = ?", arguments: [alice.id])
            }
            #expect(credentials == 1)
        }
    }

    @Test func anEnrolmentSessionExpiresAfterAnHour() async throws {
        try await withPortal { portal, client in
            let bob = try await portal.customer("bob@example.com", enrolled: false)
            let browser = Browser(client)
            try await browser.submit("/login", ["email": bob.email, "password": bob.password])
            #expect(try await browser.get("/account/mfa/setup").status == .ok)
            portal.clock.advance(by: 25 * 60)
            #expect(try await browser.get("/account/mfa/setup").status == .ok)
            portal.clock.advance(by: 25 * 60)
            #expect(try await browser.get("/account/mfa/setup").status == .ok)
            portal.clock.advance(by: 10 * 60)
            #expect(try await browser.get("/account/mfa/setup").location == "/login")
        }
    }
}
