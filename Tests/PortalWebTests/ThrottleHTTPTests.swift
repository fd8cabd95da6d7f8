import Foundation
import GRDB
import PortalCore
import HummingbirdTesting
import Testing

/// Ten failures lock an email for fifteen minutes; nothing in the answers tells real emails from others.
@Suite struct ThrottleHTTPTests {
    /// Fails the password step `count` times, far enough apart to stay clear of the slow-down.
    func failPasswords(_ portal: Portal, _ client: any TestClientProtocol, _ email: String, count: Int) async throws -> [Page] {
        var pages: [Page] = []
        for _ in 0..<count {
            portal.clock.advance(by: 20)
            pages.append(try await Browser(client).submit("/login", ["email": email, "password": "guessing wrong again"]))
        }
        return pages
    }

    @Test func tenWrongPasswordsLockSignInForFifteenMinutes() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let failures = try await failPasswords(portal, client, alice.email, count: 10)
            #expect(failures.allSatisfy { $0.status == .unauthorized })

            // Even the right password is refused now, with a page that says why and what to do.
            let locked = try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password])
            #expect(locked.status == .tooManyRequests)
            #expect(locked.contains("Too many failed attempts, so sign-in is paused for 15 minutes. You can still reset your password by email."))
            #expect(locked.setCookie("portal_session") == nil)
            #expect(try await portal.sessionCount(of: alice) == 0)

            portal.clock.advance(by: 14 * 60)
            #expect(try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password]).status == .tooManyRequests)

            portal.clock.advance(by: 60)
            let browser = try await portal.signedIn(client, alice)
            #expect(try await browser.get("/").status == .ok)
            #expect(try await portal.audit("sign_in.password").filter { $0.outcome == .failure }.count == 10)
        }
    }

    @Test func rapidFailuresAreSlowedDown() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            for _ in 0..<5 {
                try await Browser(client).submit("/login", ["email": alice.email, "password": "guessing wrong again"])
            }
            let slowed = try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password])
            #expect(slowed.status == .tooManyRequests)
            #expect(slowed.contains("Too many failed attempts. Wait 1 second and try again."))
            portal.clock.advance(by: 1)
            #expect(try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password]).location == "/login/mfa")
        }
    }

    @Test func unknownEmailsAreThrottledExactlyLikeRealOnes() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let real = try await failPasswords(portal, client, alice.email, count: 11)
            let fake = try await failPasswords(portal, client, "nobody@example.com", count: 11)
            #expect(real.map(\.status) == fake.map(\.status))
            #expect(real.last?.status == .tooManyRequests)
            for (a, b) in zip(real, fake) {
                let left = a.body.replacingOccurrences(of: alice.email, with: "EMAIL").replacingOccurrences(of: a.csrf ?? "-", with: "CSRF")
                let right = b.body.replacingOccurrences(of: "nobody@example.com", with: "EMAIL").replacingOccurrences(of: b.csrf ?? "-", with: "CSRF")
                #expect(left == right)
            }
        }
    }

    @Test func tenWrongCodesLockTooAndEndThePendingSignIn() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            var statuses: [Int] = []
            for _ in 0..<10 {
                portal.clock.advance(by: 20)
                statuses.append(try await browser.submit("/login/mfa", ["code": portal.wrongCode(alice.secret)]).status.code)
            }
            // The tenth failure locks the email, ends the pending sign-in and says so.
            #expect(statuses == Array(repeating: 401, count: 9) + [429])
            #expect(try await portal.sessionCount(of: alice) == 0)
            #expect(try await browser.get("/login/mfa").location == "/login")
            #expect(browser.sessionCookie == nil)

            let again = try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password])
            #expect(again.status == .tooManyRequests)
            #expect(try await portal.audit("sign_in.mfa").filter { $0.outcome == .failure }.count == 10)
        }
    }

    @Test func aLockDuringTheCodeStepEndsThePendingSignIn() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            try await browser.get("/login/mfa")
            // Meanwhile someone else guesses at the password until the email locks.
            _ = try await failPasswords(portal, client, alice.email, count: 10)
            portal.nextStep()
            let page = try await browser.post("/login/mfa", ["code": portal.code(alice.secret)])
            #expect(page.status == .tooManyRequests)
            #expect(page.contains("Too many failed attempts, so sign-in is paused"))
            #expect(page.setCookie("portal_session").map { cookieAttributes($0).contains("max-age=0") } == true)
            #expect(browser.sessionCookie == nil)
            #expect(try await portal.sessionCount(of: alice) == 0)
            #expect(try await portal.audit("sign_in.success").isEmpty)
        }
    }

    @Test func failuresCountPerEmailWhateverItsCase() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            _ = try await failPasswords(portal, client, "ALICE@example.com", count: 5)
            _ = try await failPasswords(portal, client, " alice@EXAMPLE.com", count: 5)
            let locked = try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password])
            #expect(locked.status == .tooManyRequests)
            // Another email from the same address is not locked by these.
            let bob = try await portal.customer("bob@example.com")
            #expect(try await Browser(client).submit("/login", ["email": bob.email, "password": bob.password]).location == "/login/mfa")
        }
    }

    @Test func aSuccessfulSignInClearsTheCount() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            _ = try await failPasswords(portal, client, alice.email, count: 9)
            portal.clock.advance(by: 20)
            try await portal.signedIn(client, alice)
            let more = try await failPasswords(portal, client, alice.email, count: 9)
            #expect(more.allSatisfy { $0.status == .unauthorized })
            portal.clock.advance(by: 20)
            #expect(try await portal.signedIn(client, alice).get("/").status == .ok)
        }
    }
}
