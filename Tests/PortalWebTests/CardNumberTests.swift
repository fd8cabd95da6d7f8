import Foundation
import GRDB
import PortalCore
import PortalWeb
import Testing

/// A card number typed into any ordinary field is refused with a clear message, and nothing changes.
@Suite struct CardNumberTests {
    static let message = "That looks like a card number. For your security, card details are only ever typed into the secure card form from our payment provider — never into other fields. Nothing was saved."

    @Test func aCardNumberInTheSignInFormIsRefused() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            try await browser.get("/login")
            let page = try await browser.post("/login", ["email": "4242 4242 4242 4242", "password": "anything at all"])
            #expect(page.status == .badRequest)
            #expect(page.contains(Self.message))
            #expect(page.body.contains("<h1>Something is wrong with that request</h1>"))
            // The number is not echoed back, and the attempt left no trace.
            #expect(!page.body.contains("4242"))
            #expect(try await portal.audit("sign_in.password").isEmpty)
            let throttleRows = try await portal.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sign_in_throttle") }
            #expect(throttleRows == 0)
        }
    }

    @Test func aCardNumberAsANewPasswordChangesNothing() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let before = try await portal.passwordHash(of: alice)
            for card in ["4242424242424242", "4242-4242-4242-4242", " 5555 5555 5555 4444 "] {
                let page = try await browser.submit("/account", to: "/account/password", [
                    "current_password": alice.password, "new_password": card, "new_password_confirm": card,
                ])
                #expect(page.status == .badRequest, "\(card)")
                #expect(page.contains(Self.message), "\(card)")
            }
            #expect(try await portal.passwordHash(of: alice) == before)
            #expect(try await portal.audit("password.change").isEmpty)
            #expect(try await portal.mail(to: alice.email).filter { $0.message.subject.contains("changed") }.isEmpty)
            #expect(try await browser.get("/").status == .ok)
        }
    }

    @Test func aCardNumberInTheResetFormSendsNothing() async throws {
        try await withPortal { portal, client in
            let page = try await Browser(client).submit("/password/forgot", ["email": "4000 0566 5566 5556"])
            #expect(page.status == .badRequest)
            #expect(page.contains(Self.message))
            #expect(try await portal.services.outbox.all().isEmpty)
        }
    }

    @Test func numbersThatFailTheLuhnCheckAreOrdinaryInput() async throws {
        try await withPortal { portal, client in
            #expect(!CardNumberDetector.looksLikeCardNumber("4242 4242 4242 4241"))
            #expect(CardNumberDetector.looksLikeCardNumber("4242 4242 4242 4242"))
            let page = try await Browser(client).submit("/password/forgot", ["email": "4242 4242 4242 4241"])
            #expect(page.status == .ok)
            #expect(page.contains("Check your email"))
        }
    }
}
