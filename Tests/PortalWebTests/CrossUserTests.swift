import Foundation
import GRDB
import PortalCore
import Testing

/// One customer's session never reaches another customer's data.
@Suite struct CrossUserTests {
    @Test func eachCustomerSeesOnlyTheirOwnAccountsAndSessions() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let bakery = try await portal.account("Łódź Bakery Sp. z o.o.")
            let alice = try await portal.customer("alice@example.com", name: "Alice Andersen", accounts: [acme])
            let bob = try await portal.customer("bob@example.com", name: "Bob Baker", accounts: [bakery])
            _ = try await portal.signedIn(client, alice, userAgent: "Alice's Browser")
            let bobBrowser = try await portal.signedIn(client, bob, userAgent: "Bob's Browser")

            for path in ["/", "/account"] {
                let page = try await bobBrowser.get(path)
                #expect(page.status == .ok)
                #expect(page.contains("bob@example.com"), "\(path)")
                #expect(!page.contains("alice@example.com"), "\(path)")
                #expect(!page.contains("Alice"), "\(path)")
                #expect(!page.contains("Acme Widgets"), "\(path)")
                #expect(!page.body.contains(acme.id), "\(path)")
                for id in try await portal.sessionPublicIds(of: alice) {
                    #expect(!page.body.contains(id), "\(path)")
                }
            }
            #expect(try await bobBrowser.get("/").contains("Łódź Bakery Sp. z o.o."))
        }
    }

    @Test func aCSRFTokenFromAnotherUsersPageIsRefused() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let bob = try await portal.customer("bob@example.com")
            let aliceBrowser = try await portal.signedIn(client, alice)
            let bobBrowser = try await portal.signedIn(client, bob)
            let aliceToken = try #require(try await aliceBrowser.get("/account").csrf)
            let bobToken = try #require(try await bobBrowser.get("/account").csrf)
            #expect(aliceToken != bobToken)

            let page = try await bobBrowser.post("/account/sessions/revoke-others", csrf: .token(aliceToken))
            #expect(page.status == .forbidden)
            let password = try await bobBrowser.post("/account/password", [
                "current_password": bob.password, "new_password": "a brand new passphrase", "new_password_confirm": "a brand new passphrase",
            ], csrf: .token(aliceToken))
            #expect(password.status == .forbidden)
            #expect(try await portal.passwordMatches(bob, bob.password))
            #expect(try await portal.audit("session.revoke_others").isEmpty)
        }
    }

    @Test func anotherUsersSessionAndAccountIdsAreNotFound() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let bakery = try await portal.account("Łódź Bakery Sp. z o.o.")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let bob = try await portal.customer("bob@example.com", accounts: [bakery])
            let aliceBrowser = try await portal.signedIn(client, alice)
            let bobBrowser = try await portal.signedIn(client, bob)
            let aliceSession = try #require(try await portal.sessionPublicIds(of: alice).first)

            // The same answer as for an id that does not exist at all: nothing reveals that it is someone else's.
            let foreignSession = try await bobBrowser.submit("/account", to: "/account/sessions/revoke", ["session": aliceSession])
            let missingSession = try await bobBrowser.submit("/account", to: "/account/sessions/revoke", ["session": "ses_AAAAAAAAAAAAAAAAAAAAAA"])
            #expect(foreignSession.status == .notFound)
            #expect(foreignSession.status == missingSession.status)
            #expect(foreignSession.body == missingSession.body)

            let foreignAccount = try await bobBrowser.submit("/", to: "/account/switch", ["account": acme.id])
            let missingAccount = try await bobBrowser.submit("/", to: "/account/switch", ["account": "acc_AAAAAAAAAAAAAAAAAAAAAA"])
            #expect(foreignAccount.status == .notFound)
            #expect(foreignAccount.body == missingAccount.body)

            #expect(try await aliceBrowser.get("/").status == .ok)
            let bobActive = try await portal.database.read { db in
                try String.fetchOne(db, sql: "SELECT active_account_id FROM sessions WHERE principal_id = ?", arguments: [bob.id])
            }
            #expect(bobActive == nil)
            #expect(try await bobBrowser.get("/").contains("Łódź Bakery"))
        }
    }

    @Test func aStaffSessionIsNotACustomerSession() async throws {
        try await withPortal { portal, client in
            let system = AuditEvent(action: "test", actorKind: .system, clientAddress: "tests")
            let staff = try await portal.services.directory.createStaff(email: "admin@example.com", name: "Admin", role: .admin,
                                                                         password: defaultPassword, actor: system)
            let secret = TOTPGenerator.newSecret()
            _ = try await portal.services.mfa.enrolKnownSecret(.staff(staff.id), secret: secret)
            let client_ = ClientInfo(address: "127.0.0.1")
            let step = try await portal.services.auth.signIn(kind: .staff, email: staff.email, password: defaultPassword, client: client_)
            portal.nextStep()
            let (token, _) = try await portal.services.auth.verifySecondFactor(session: step.session, code: portal.code(secret), client: client_)

            let browser = Browser(client)
            browser.setCookie("portal_session", token)
            #expect(try await browser.get("/").location == "/login")
            #expect(try await browser.get("/account").location == "/login")
            #expect(try await browser.get("/login").status == .ok)
            // The customer sign-in form does not accept staff credentials either.
            let customerLogin = try await Browser(client).submit("/login", ["email": staff.email, "password": defaultPassword])
            #expect(customerLogin.status == .unauthorized)
        }
    }
}
