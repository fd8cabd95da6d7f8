import Foundation
import GRDB
import PortalCore
import Testing

/// `/invite/{token}`: a single-use, 72-hour link to set a password, then MFA enrolment.
@Suite struct InvitationTests {
    static let password = "lantern meadow copper 9"
    static let system = AuditEvent(action: "test", actorKind: .system, actorLabel: "tests", clientAddress: "tests")

    /// Invites `email` to a new account and returns the link path from the queued email.
    func invite(_ portal: Portal, _ email: String, account: Account? = nil) async throws -> (path: String, userId: String) {
        let target: Account
        if let account { target = account } else { target = try await portal.account("Acme Widgets GmbH") }
        let invitation = try await portal.services.invitations.invite(email: email, name: "Carol Chen", accounts: [target.id], invitedBy: Self.system)
        let mail = try #require(try await portal.mail(to: email).last)
        #expect(mail.message.subject == "You're invited to the Payment Portal")
        let path = try portal.linkPath(in: mail, prefix: "/invite/")
        #expect(portal.publicURL + path == invitation.link)
        return (path, invitation.userId)
    }

    @Test func acceptingAnInvitationLeadsThroughEnrolmentToTheOverview() async throws {
        try await withPortal { portal, client in
            let (link, userId) = try await invite(portal, "carol@example.com")
            let browser = Browser(client)
            let page = try await browser.get(link)
            #expect(page.status == .ok)
            #expect(page.contains("Welcome to the Payment Portal"))
            #expect(page.body.contains("Choose a password for <strong>carol@example.com</strong>."))

            let accepted = try await browser.post(link, ["new_password": Self.password, "new_password_confirm": Self.password])
            #expect(accepted.status == .seeOther)
            #expect(accepted.location == "/account/mfa/setup")
            let line = try #require(accepted.setCookie("portal_session"))
            #expect(cookieAttributes(line).contains("httponly"))
            // Straight to enrolment: no other page before an authenticator is set up.
            #expect(try await browser.get("/").location == "/account/mfa/setup")

            let setup = try await browser.get("/account/mfa/setup")
            let secret = try setup.enrolmentSecret()
            let codes = try await browser.post("/account/mfa/setup", ["code": TOTPGenerator(secret: secret).code(at: portal.clock.date)])
            #expect(codes.status == .ok)
            #expect(codes.recoveryCodes.count == 10)
            let home = try await browser.get("/")
            #expect(home.status == .ok)
            #expect(home.body.contains("<h1>Overview</h1>"))
            #expect(home.contains("carol@example.com"))
            #expect(home.contains("Acme Widgets GmbH"))

            let status = try await portal.database.read { db in
                try String.fetchOne(db, sql: "SELECT status FROM customer_users WHERE id = ?", arguments: [userId])
            }
            #expect(status == "active")
            #expect(try await portal.audit("user.invite_accepted").first?.actorId == userId)
            #expect(try await portal.audit("mfa.enrolled").first?.actorId == userId)
        }
    }

    @Test func anInvitationLinkWorksOnce() async throws {
        try await withPortal { portal, client in
            let (link, userId) = try await invite(portal, "carol@example.com")
            let browser = Browser(client)
            let other = Browser(client)
            // Both open the link; the first to submit wins.
            #expect(try await other.get(link).status == .ok)
            try await browser.get(link)
            #expect(try await browser.post(link, ["new_password": Self.password, "new_password_confirm": Self.password]).status == .seeOther)

            let replay = try await other.post(link, ["new_password": "someone else's passphrase", "new_password_confirm": "someone else's passphrase"])
            #expect(replay.status == .gone)
            #expect(replay.setCookie("portal_session") == nil)
            #expect(replay.contains("This invitation link has expired or was already used."))

            let used = try await other.get(link)
            #expect(used.status == .gone)
            #expect(used.contains("This invitation link has expired or was already used. Ask your contact to send a new one."))
            #expect(!used.body.contains("new_password"))

            // The first browser's password stands, and only its session exists.
            let hash = try #require(try await portal.database.read { db in
                try String.fetchOne(db, sql: "SELECT password_hash FROM customer_users WHERE id = ?", arguments: [userId])
            })
            #expect(try await fastHasher.verify(Self.password, against: hash))
            #expect(try await portal.audit("user.invite_accepted").count == 1)
        }
    }

    @Test func anInvitationLinkExpiresAfterSeventyTwoHours() async throws {
        try await withPortal { portal, client in
            let (link, _) = try await invite(portal, "carol@example.com")
            let browser = Browser(client)
            portal.clock.advance(by: 72 * 3600 - 1)
            #expect(try await browser.get(link).status == .ok)
            portal.clock.advance(by: 1)
            let expired = try await browser.get(link)
            #expect(expired.status == .gone)
            #expect(expired.contains("Invitation link not valid"))
            let post = try await browser.post(link, ["new_password": Self.password, "new_password_confirm": Self.password])
            #expect(post.status == .gone)
            #expect(try await portal.audit("user.invite_accepted").isEmpty)
        }
    }

    @Test func reinvitingReplacesTheEarlierLink() async throws {
        try await withPortal { portal, client in
            let account = try await portal.account("Acme Widgets GmbH")
            let (first, _) = try await invite(portal, "carol@example.com", account: account)
            let (second, _) = try await invite(portal, "carol@example.com", account: account)
            #expect(first != second)
            let browser = Browser(client)
            #expect(try await browser.get(first).status == .gone)
            #expect(try await browser.get(second).status == .ok)
        }
    }

    @Test func badPasswordsKeepTheInvitationUsable() async throws {
        try await withPortal { portal, client in
            let (link, _) = try await invite(portal, "carol@example.com")
            let browser = Browser(client)
            try await browser.get(link)
            let weak = try await browser.post(link, ["new_password": "short", "new_password_confirm": "short"])
            #expect(weak.status == .unprocessableContent)
            #expect(weak.contains("Use at least 12 characters."))
            #expect(weak.body.contains("<strong>carol@example.com</strong>"))
            let differ = try await browser.post(link, ["new_password": Self.password, "new_password_confirm": "a different passphrase"])
            #expect(differ.status == .unprocessableContent)
            #expect(differ.contains("The two passwords don't match."))
            let common = try await browser.post(link, ["new_password": "password1234", "new_password_confirm": "password1234"])
            #expect(common.status == .unprocessableContent)
            #expect(common.contains("That password is too common."))
            let forged = try await browser.post(link, ["new_password": Self.password, "new_password_confirm": Self.password], csrf: .none)
            #expect(forged.status == .forbidden)
            #expect(browser.sessionCookie == nil)

            #expect(try await browser.get(link).status == .ok)
            #expect(try await browser.post(link, ["new_password": Self.password, "new_password_confirm": Self.password]).location == "/account/mfa/setup")
        }
    }

    @Test func anUnknownTokenIsGone() async throws {
        try await withPortal { portal, client in
            let page = try await Browser(client).get("/invite/not-a-real-token")
            #expect(page.status == .gone)
            #expect(page.contains("Invitation link not valid"))
        }
    }
}
