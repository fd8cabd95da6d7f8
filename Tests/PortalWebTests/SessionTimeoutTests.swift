import Foundation
import PortalCore
import Testing

/// 30 minutes idle and 12 hours in all, measured on the portal's (manual) clock.
@Suite struct SessionTimeoutTests {
    @Test func aSessionEndsAfterThirtyMinutesIdle() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)

            // Activity keeps it alive.
            portal.clock.advance(by: 29 * 60)
            #expect(try await browser.get("/").status == .ok)
            portal.clock.advance(by: 29 * 60)
            #expect(try await browser.get("/account").status == .ok)

            portal.clock.advance(by: 30 * 60)
            let idle = try await browser.get("/")
            #expect(idle.status == .seeOther)
            #expect(idle.location == "/login")
            // The dead cookie is cleared, and the row is gone.
            #expect(idle.setCookie("portal_session").map { cookieAttributes($0).contains("max-age=0") } == true)
            #expect(browser.sessionCookie == nil)
            #expect(try await portal.sessionCount(of: alice) == 0)
        }
    }

    @Test func justUnderThirtyMinutesIdleIsStillSignedIn() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            portal.clock.advance(by: 30 * 60 - 1)
            #expect(try await browser.get("/").status == .ok)
        }
    }

    @Test func aSessionEndsTwelveHoursAfterSignInHoweverActive() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            // Busy all day: a request every 20 minutes, up to a minute before the limit.
            for _ in 0..<35 {
                portal.clock.advance(by: 20 * 60)
                try #require(try await browser.get("/").status == .ok)
            }
            portal.clock.advance(by: 19 * 60)  // 11 h 59 min
            #expect(try await browser.get("/").status == .ok)
            portal.clock.advance(by: 60)  // 12 h
            let expired = try await browser.get("/")
            #expect(expired.status == .seeOther)
            #expect(expired.location == "/login")
            #expect(try await portal.sessionCount(of: alice) == 0)

            // Signing in again starts a fresh twelve hours.
            try await portal.signIn(browser, alice)
            #expect(try await browser.get("/").status == .ok)
        }
    }

    @Test func anExpiredSessionCannotPostEither() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            try await browser.get("/account")
            portal.clock.advance(by: 31 * 60)
            // The form's token was bound to the dead session, so the post is refused before it reaches a
            // handler, and the user is sent to sign in again with a message that nothing changed.
            let post = try await browser.post("/account/password", [
                "current_password": alice.password, "new_password": "a brand new passphrase", "new_password_confirm": "a brand new passphrase",
            ])
            #expect(post.status == .seeOther && post.location == "/login")
            #expect(try await browser.follow(post).contains("Your session ended, so nothing was changed."))
            #expect(try await portal.passwordMatches(alice, alice.password))
        }
    }
}
