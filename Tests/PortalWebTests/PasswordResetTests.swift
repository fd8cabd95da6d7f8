import Foundation
import GRDB
import PortalCore
import HummingbirdTesting
import Testing

/// `/password/forgot` and `/password/reset/{token}`.
@Suite struct PasswordResetTests {
    static let newPassword = "kettle harbour violet 7"

    /// Requests a reset for `email` from a fresh browser.
    @discardableResult
    func requestReset(_ portal: Portal, _ client: any TestClientProtocol, _ email: String) async throws -> Page {
        try await Browser(client).submit("/password/forgot", ["email": email])
    }

    func latestResetLink(_ portal: Portal, _ email: String) async throws -> String {
        let mail = try #require(try await portal.mail(to: email).last { $0.message.subject == "Reset your Payment Portal password" })
        return try portal.linkPath(in: mail, prefix: "/password/reset/")
    }

    @Test func knownAndUnknownEmailsGetTheSameAnswer() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let form = try await Browser(client).get("/password/forgot")
            #expect(form.status == .ok)
            #expect(form.contains("Reset your password"))

            let known = try await requestReset(portal, client, alice.email)
            let unknown = try await requestReset(portal, client, "nobody@example.com")
            #expect(known.status == .ok)
            #expect(known.status == unknown.status)
            #expect(known.body.contains("If <strong>alice@example.com</strong> has an account, a link to reset the password is on its way."))
            func normalised(_ page: Page, _ email: String) -> String {
                var body = page.body.replacingOccurrences(of: email, with: "EMAIL")
                if let csrf = page.csrf { body = body.replacingOccurrences(of: csrf, with: "CSRF") }
                return body
            }
            #expect(normalised(known, alice.email) == normalised(unknown, "nobody@example.com"))
            #expect(known.setCookies.filter { !$0.hasPrefix("portal_pre=") } == unknown.setCookies.filter { !$0.hasPrefix("portal_pre=") })

            // Only the real address gets mail.
            let mails = try await portal.services.outbox.all().filter { $0.message.subject == "Reset your Payment Portal password" }
            #expect(mails.map(\.message.to) == [alice.email])
            #expect(try await portal.audit("password.reset_requested").map(\.actorLabel) == [alice.email])
            let link = try await latestResetLink(portal, alice.email)
            #expect(link.count > "/password/reset/".count + 40)
            #expect(mails[0].message.textBody.contains("the link works once, for 60 minutes"))
        }
    }

    @Test func anEmptyEmailIsAskedFor() async throws {
        try await withPortal { portal, client in
            let page = try await requestReset(portal, client, "  ")
            #expect(page.status == .badRequest)
            #expect(page.contains("Enter the email address you sign in with."))
            #expect(try await portal.services.outbox.all().filter { $0.message.subject.contains("Reset") }.isEmpty)
        }
    }

    @Test func onlyActiveUsersGetAResetLink() async throws {
        try await withPortal { portal, client in
            let account = try await portal.account("Acme Widgets GmbH")
            let system = AuditEvent(action: "test", actorKind: .system, clientAddress: "tests")
            _ = try await portal.services.invitations.invite(email: "invited@example.com", accounts: [account.id], invitedBy: system)
            let disabled = try await portal.customer("disabled@example.com")
            try await portal.database.write { db in
                try db.execute(sql: "UPDATE customer_users SET status = 'disabled' WHERE id = ?", arguments: [disabled.id])
            }
            #expect(try await requestReset(portal, client, "invited@example.com").status == .ok)
            #expect(try await requestReset(portal, client, disabled.email).status == .ok)
            let resets = try await portal.services.outbox.all().filter { $0.message.subject == "Reset your Payment Portal password" }
            #expect(resets.isEmpty)
        }
    }

    @Test func resettingSignsOutEverySessionAndStillNeedsTheCode() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let signedIn = try await portal.signedIn(client, alice)
            try await requestReset(portal, client, alice.email)
            let link = try await latestResetLink(portal, alice.email)

            let browser = Browser(client)
            let form = try await browser.get(link)
            #expect(form.status == .ok)
            #expect(form.contains("Choose a new password"))
            #expect(form.body.contains("For <strong>alice@example.com</strong>."))
            // The token is a secret: the page must not leak it to other sites.
            #expect(form.headers[.cacheControl] == "no-store")
            #expect(form.headers[.init("Referrer-Policy")!] == "same-origin")

            let done = try await browser.post(link, ["new_password": Self.newPassword, "new_password_confirm": Self.newPassword])
            #expect(done.status == .seeOther)
            #expect(done.location == "/login")
            let login = try await browser.follow(done)
            #expect(login.contains("Your password was reset and every session signed out."))

            #expect(try await signedIn.get("/").location == "/login")
            #expect(try await portal.sessionCount(of: alice) == 0)
            #expect(try await portal.passwordMatches(alice, Self.newPassword))
            let event = try #require(try await portal.audit("password.reset").first)
            #expect(event.actorId == alice.id && event.details["sessions_revoked"] == "all")
            #expect(try await portal.mail(to: alice.email).contains { $0.message.subject == "Your Payment Portal password was changed" })

            // The old password is dead; the new one leads to the code step, not past it.
            #expect(try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password]).status == .unauthorized)
            let again = Browser(client)
            let step = try await again.submit("/login", ["email": alice.email, "password": Self.newPassword])
            #expect(step.location == "/login/mfa")
            #expect(try await again.get("/").location == "/login/mfa")
            #expect(try await portal.services.mfa.status(.customer(alice.id)).enrolled)
        }
    }

    @Test func aResetLinkWorksOnce() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            try await requestReset(portal, client, alice.email)
            let link = try await latestResetLink(portal, alice.email)
            let browser = Browser(client)
            try await browser.get(link)
            #expect(try await browser.post(link, ["new_password": Self.newPassword, "new_password_confirm": Self.newPassword]).status == .seeOther)

            let used = try await browser.get(link)
            #expect(used.status == .gone)
            #expect(used.contains("This reset link has expired or was already used. Request a new one."))
            #expect(!used.body.contains("new_password"))

            // Replaying the form post with a fresh token does nothing either.
            let replay = try await browser.post(link, ["new_password": "yet another passphrase", "new_password_confirm": "yet another passphrase"])
            #expect(replay.status == .gone)
            #expect(try await portal.passwordMatches(alice, Self.newPassword))
            #expect(try await portal.audit("password.reset").count == 1)
        }
    }

    @Test func aResetLinkExpiresAfterOneHour() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            try await requestReset(portal, client, alice.email)
            let link = try await latestResetLink(portal, alice.email)
            let browser = Browser(client)
            portal.clock.advance(by: 3600 - 1)
            #expect(try await browser.get(link).status == .ok)
            portal.clock.advance(by: 1)
            let expired = try await browser.get(link)
            #expect(expired.status == .gone)
            #expect(expired.contains("This reset link has expired or was already used."))
            let post = try await browser.post(link, ["new_password": Self.newPassword, "new_password_confirm": Self.newPassword])
            #expect(post.status == .gone)
            #expect(try await portal.passwordMatches(alice, alice.password))
        }
    }

    @Test func aNewerLinkReplacesTheOlderOne() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            try await requestReset(portal, client, alice.email)
            let first = try await latestResetLink(portal, alice.email)
            // A second request within a minute sends nothing more, so the form cannot flood a mailbox.
            try await requestReset(portal, client, alice.email)
            #expect(try await latestResetLink(portal, alice.email) == first)
            #expect(try await portal.mail(to: alice.email).filter { $0.message.subject.hasPrefix("Reset") }.count == 1)

            portal.clock.advance(by: 61)
            try await requestReset(portal, client, alice.email)
            let second = try await latestResetLink(portal, alice.email)
            #expect(second != first)
            let browser = Browser(client)
            #expect(try await browser.get(first).status == .gone)
            #expect(try await browser.get(second).status == .ok)
        }
    }

    @Test func badNewPasswordsKeepTheLinkUsable() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            try await requestReset(portal, client, alice.email)
            let link = try await latestResetLink(portal, alice.email)
            let browser = Browser(client)
            try await browser.get(link)

            let differ = try await browser.post(link, ["new_password": Self.newPassword, "new_password_confirm": "something else entirely"])
            #expect(differ.status == .unprocessableContent)
            #expect(differ.contains("The two passwords don't match."))
            let weak = try await browser.post(link, ["new_password": "abcabcabcabc", "new_password_confirm": "abcabcabcabc"])
            #expect(weak.status == .unprocessableContent)
            #expect(weak.contains("too common"))
            let forged = try await browser.post(link, ["new_password": Self.newPassword, "new_password_confirm": Self.newPassword], csrf: .none)
            #expect(forged.status == .forbidden)

            #expect(try await portal.passwordMatches(alice, alice.password))
            #expect(try await browser.get(link).status == .ok)
            #expect(try await browser.post(link, ["new_password": Self.newPassword, "new_password_confirm": Self.newPassword]).status == .seeOther)
        }
    }

    @Test func anUnknownTokenIsGone() async throws {
        try await withPortal { portal, client in
            let page = try await Browser(client).get("/password/reset/not-a-real-token")
            #expect(page.status == .gone)
            #expect(page.contains("Reset link not valid"))
        }
    }

    @Test func aLockedUserCanStillResetAndThenSignIn() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            for _ in 0..<10 {
                portal.clock.advance(by: 20)
                try await Browser(client).submit("/login", ["email": alice.email, "password": "guessing wrong again"])
            }
            let locked = try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password])
            #expect(locked.status == .tooManyRequests)
            #expect(locked.contains("You can still reset your password by email."))

            try await requestReset(portal, client, alice.email)
            let link = try await latestResetLink(portal, alice.email)
            let browser = Browser(client)
            try await browser.get(link)
            #expect(try await browser.post(link, ["new_password": Self.newPassword, "new_password_confirm": Self.newPassword]).location == "/login")

            let after = Browser(client)
            #expect(try await after.submit("/login", ["email": alice.email, "password": Self.newPassword]).location == "/login/mfa")
            portal.nextStep()
            #expect(try await after.submit("/login/mfa", ["code": portal.code(alice.secret)]).location == "/")
        }
    }
}
