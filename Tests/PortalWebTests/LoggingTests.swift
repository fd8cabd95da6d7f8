import Foundation
import GRDB
import PortalCore
import Testing

/// One line per request naming the route pattern; never a password, code, token, cookie or card number.
@Suite struct LoggingTests {
    @Test func logsNameRoutesAndNeverSecrets() async throws {
        let logs = LogCapture()
        try await withPortal(logs: logs) { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let session = try #require(browser.sessionCookie)
            let csrf = try #require(try await browser.get("/account").csrf)

            // A wrong password, a card number, a reset link and an invitation link all pass through.
            try await Browser(client).submit("/login", ["email": alice.email, "password": "wrong secret phrase"])
            let card = Browser(client)
            try await card.get("/login")
            try await card.post("/login", ["email": "4242 4242 4242 4242", "password": "x"])
            try await Browser(client).submit("/password/forgot", ["email": alice.email])
            let resetMail = try #require(try await portal.mail(to: alice.email).last)
            let resetPath = try portal.linkPath(in: resetMail, prefix: "/password/reset/")
            try await Browser(client).get(resetPath)
            let system = AuditEvent(action: "test", actorKind: .system, clientAddress: "tests")
            _ = try await portal.services.invitations.invite(email: "carol@example.com", accounts: [alice.accounts[0].id], invitedBy: system)
            let inviteMail = try #require(try await portal.mail(to: "carol@example.com").last)
            let invitePath = try portal.linkPath(in: inviteMail, prefix: "/invite/")
            try await Browser(client).get(invitePath)
            try await Browser(client).get("/css/portal.css/" + String(invitePath.dropFirst("/invite/".count)))

            let text = logs.text
            #expect(text.contains("route=/password/reset/{token}"))
            #expect(text.contains("route=/invite/{token}"))
            #expect(text.contains("route=/login"))
            #expect(text.contains("status=400"))
            for secret in [alice.password, "wrong secret phrase", "4242 4242 4242 4242", "4242424242424242", session, csrf,
                           String(resetPath.dropFirst("/password/reset/".count)), String(invitePath.dropFirst("/invite/".count))] {
                #expect(!text.contains(secret), "log contains a secret")
            }
            #expect(!text.contains(alice.email), "log contains an email address")
        }
    }
}
