import Foundation
import GRDB
import PortalCore
import Testing

/// `/account`: password, recovery codes, authenticator reset, sessions, account switch.
@Suite struct AccountTests {
    @Test func theAccountPageShowsSecurityStateAndSessions() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let laptop = try await portal.signedIn(client, alice, userAgent: "Laptop Browser")
            _ = try await portal.signedIn(client, alice, userAgent: "Phone Browser")
            let page = try await laptop.get("/account")
            #expect(page.status == .ok)
            #expect(page.headers[.cacheControl] == "no-store")
            #expect(page.contains("Your account"))
            #expect(page.body.contains("<strong id=\"recovery-remaining\">10</strong>"))
            #expect(page.contains("Laptop Browser"))
            #expect(page.contains("Phone Browser"))
            #expect(page.contains("this browser"))
            #expect(page.contains("127.0.0.1"))
            // Only the other session has a sign-out button, named by its public id, never the cookie.
            let ids = try await portal.sessionPublicIds(of: alice)
            #expect(page.attributeValues("value").filter { $0.hasPrefix("ses_") } == [ids[1]])
            #expect(!page.body.contains(try #require(laptop.sessionCookie)))
        }
    }

    // MARK: Password

    @Test func changingThePasswordNeedsTheCurrentOne() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let before = try await portal.passwordHash(of: alice)
            let wrong = try await browser.submit("/account", to: "/account/password", [
                "current_password": "not my password", "new_password": "a brand new passphrase", "new_password_confirm": "a brand new passphrase",
            ])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.contains("Your current password is not correct."))
            #expect(try await portal.passwordHash(of: alice) == before)
            #expect(try await portal.audit("password.change").first?.outcome == .failure)

            let differ = try await browser.submit("/account", to: "/account/password", [
                "current_password": alice.password, "new_password": "a brand new passphrase", "new_password_confirm": "another passphrase",
            ])
            #expect(differ.status == .unprocessableContent)
            #expect(differ.contains("The two new passwords don't match."))

            let weak = try await browser.submit("/account", to: "/account/password", [
                "current_password": alice.password, "new_password": "short", "new_password_confirm": "short",
            ])
            #expect(weak.status == .unprocessableContent)
            #expect(weak.contains("Use at least 12 characters."))
            #expect(try await portal.passwordHash(of: alice) == before)
            #expect(try await portal.mail(to: alice.email).filter { $0.message.subject.contains("password was changed") }.isEmpty)
        }
    }

    @Test func changingThePasswordSignsOutOtherSessions() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let other = try await portal.signedIn(client, alice)
            let newPassword = "a brand new passphrase"
            let changed = try await browser.submit("/account", to: "/account/password", [
                "current_password": alice.password, "new_password": newPassword, "new_password_confirm": newPassword,
            ])
            #expect(changed.status == .seeOther)
            #expect(changed.location == "/account")
            #expect(try await browser.follow(changed).contains("Your password was changed. Other devices have been signed out."))

            #expect(try await browser.get("/").status == .ok)
            #expect(try await other.get("/").location == "/login")
            #expect(try await portal.sessionCount(of: alice) == 1)
            #expect(try await portal.passwordMatches(alice, newPassword))

            let event = try #require(try await portal.audit("password.change").first)
            #expect(event.outcome == .success && event.actorId == alice.id && event.details["other_sessions_revoked"] == "1")
            let mail = try await portal.mail(to: alice.email)
            #expect(mail.contains { $0.message.subject == "Your Payment Portal password was changed" })
            // The audit trail and the mail never hold the password.
            #expect(!mail.contains { $0.message.textBody.contains(newPassword) })
            let auditText = try await portal.database.read { db in
                try String.fetchAll(db, sql: "SELECT details || actor_label FROM audit_events").joined()
            }
            #expect(!auditText.contains(newPassword) && !auditText.contains(alice.password))

            // Old password out, new one in (with the code, as ever).
            let old = try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password])
            #expect(old.status == .unauthorized)
            let fresh = Browser(client)
            #expect(try await fresh.submit("/login", ["email": alice.email, "password": newPassword]).location == "/login/mfa")
        }
    }

    // MARK: Recovery codes

    @Test func regeneratingRecoveryCodesNeedsThePasswordAndRetiresTheOldOnes() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)

            let wrong = try await browser.submit("/account", to: "/account/recovery-codes", ["password": "not my password"])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.contains("Your current password is not correct."))

            let page = try await browser.submit("/account", to: "/account/recovery-codes", ["password": alice.password])
            #expect(page.status == .ok)
            #expect(page.contains("Save your recovery codes"))
            #expect(page.headers[.cacheControl] == "no-store")
            let codes = page.recoveryCodes
            #expect(codes.count == 10)
            #expect(Set(codes).isDisjoint(with: alice.recoveryCodes))
            #expect(try await portal.audit("mfa.recovery_codes").map(\.outcome) == [.success, .failure])

            let old = Browser(client)
            try await old.submit("/login", ["email": alice.email, "password": alice.password])
            #expect(try await old.submit("/login/mfa", ["code": alice.recoveryCodes[0]]).status == .unauthorized)
            #expect(try await old.submit("/login/mfa", ["code": codes[0]]).location == "/")
        }
    }

    // MARK: Authenticator reset

    @Test func resettingTheAuthenticatorNeedsPasswordAndCode() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            portal.nextStep()

            let wrongPassword = try await browser.submit("/account", to: "/account/mfa/reset", [
                "password": "not my password", "code": portal.code(alice.secret),
            ])
            #expect(wrongPassword.status == .unprocessableContent)
            #expect(wrongPassword.contains("Your current password is not correct."))

            let wrongCode = try await browser.submit("/account", to: "/account/mfa/reset", [
                "password": alice.password, "code": portal.wrongCode(alice.secret),
            ])
            #expect(wrongCode.status == .unprocessableContent)
            #expect(wrongCode.contains("That code didn't work."))
            #expect(try await portal.services.mfa.status(.customer(alice.id)).enrolled)
            #expect(try await portal.audit("mfa.reset").map { $0.details["reason"] } == ["invalid_code", "wrong_password"])
        }
    }

    @Test func resettingTheAuthenticatorSendsTheUserBackToEnrolment() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let other = try await portal.signedIn(client, alice)
            let before = try #require(browser.sessionCookie)
            portal.nextStep()

            let reset = try await browser.submit("/account", to: "/account/mfa/reset", [
                "password": alice.password, "code": portal.code(alice.secret),
            ])
            #expect(reset.status == .seeOther)
            #expect(reset.location == "/account/mfa/setup")
            #expect(browser.sessionCookie != nil && browser.sessionCookie != before)

            let setup = try await browser.follow(reset)
            #expect(setup.status == .ok)
            #expect(setup.contains("Your authenticator was removed. Set up a new one to continue."))

            // Nowhere to go but enrolment; the other session is gone.
            #expect(try await browser.get("/").location == "/account/mfa/setup")
            #expect(try await browser.get("/account").location == "/account/mfa/setup")
            #expect(try await other.get("/").location == "/login")
            #expect(try await portal.sessionCount(of: alice) == 1)
            #expect(try await portal.services.mfa.status(.customer(alice.id)).enrolled == false)
            #expect(try await portal.audit("mfa.reset").first?.outcome == .success)
            #expect(try await portal.mail(to: alice.email).contains { $0.message.subject == "Your two-step sign-in was reset" })

            try await browser.get("/account/mfa/setup")
            let secret = try setup.enrolmentSecret()
            #expect(secret != alice.secret)
            let done = try await browser.post("/account/mfa/setup", ["code": TOTPGenerator(secret: secret).code(at: portal.clock.date)])
            #expect(done.status == .ok)
            #expect(done.recoveryCodes.count == 10)
            #expect(try await browser.get("/").status == .ok)

            // The old authenticator no longer signs in.
            portal.nextStep()
            let stale = Browser(client)
            try await stale.submit("/login", ["email": alice.email, "password": alice.password])
            #expect(try await stale.submit("/login/mfa", ["code": portal.code(alice.secret)]).status == .unauthorized)
            #expect(try await stale.submit("/login/mfa", ["code": TOTPGenerator(secret: secret).code(at: portal.clock.date)]).location == "/")
        }
    }

    @Test func aRecoveryCodeCanStandInForTheAuthenticatorWhenResetting() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let reset = try await browser.submit("/account", to: "/account/mfa/reset", [
                "password": alice.password, "code": alice.recoveryCodes[5],
            ])
            #expect(reset.location == "/account/mfa/setup")
            #expect(try await portal.services.mfa.status(.customer(alice.id)).enrolled == false)
            // Recovery codes go with the authenticator they belonged to.
            #expect(try await portal.services.mfa.status(.customer(alice.id)).recoveryCodesRemaining == 0)
        }
    }

    // MARK: Sessions

    @Test func revokingAnotherOwnSessionSignsItOut() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let phone = try await portal.signedIn(client, alice, userAgent: "Phone Browser")
            let ids = try await portal.sessionPublicIds(of: alice)
            let phoneId = ids[1]

            let revoked = try await browser.submit("/account", to: "/account/sessions/revoke", ["session": phoneId])
            #expect(revoked.status == .seeOther)
            #expect(revoked.location == "/account")
            #expect(try await browser.follow(revoked).contains("That session was signed out."))
            #expect(try await phone.get("/").location == "/login")
            #expect(try await portal.sessionPublicIds(of: alice) == [ids[0]])
            #expect(try await portal.audit("session.revoke").first?.details["session"] == phoneId)

            // Revoking it again: it no longer exists.
            let again = try await browser.submit("/account", to: "/account/sessions/revoke", ["session": phoneId])
            #expect(again.status == .notFound)
        }
    }

    @Test func theCurrentSessionIsEndedBySignOutNotRevoke() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let own = try #require(try await portal.sessionPublicIds(of: alice).first)
            let page = try await browser.submit("/account", to: "/account/sessions/revoke", ["session": own])
            #expect(page.status == .unprocessableContent)
            #expect(page.contains("To end this session, use Sign out."))
            #expect(try await browser.get("/").status == .ok)
        }
    }

    @Test func revokingAnotherUsersSessionIsNotFound() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let mallory = try await portal.customer("mallory@example.com")
            let aliceBrowser = try await portal.signedIn(client, alice)
            let malloryBrowser = try await portal.signedIn(client, mallory)
            let aliceSession = try #require(try await portal.sessionPublicIds(of: alice).first)

            let page = try await malloryBrowser.submit("/account", to: "/account/sessions/revoke", ["session": aliceSession])
            #expect(page.status == .notFound)
            #expect(page.contains("Page not found"))
            #expect(try await aliceBrowser.get("/").status == .ok)
            #expect(try await portal.sessionCount(of: alice) == 1)
            #expect(try await portal.audit("session.revoke").isEmpty)

            let unknown = try await malloryBrowser.submit("/account", to: "/account/sessions/revoke", ["session": "ses_doesnotexist"])
            #expect(unknown.status == .notFound)
        }
    }

    @Test func signingOutEverywhereElseKeepsOnlyThisSession() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let bob = try await portal.customer("bob@example.com")
            let browser = try await portal.signedIn(client, alice)
            let second = try await portal.signedIn(client, alice)
            let third = try await portal.signedIn(client, alice)
            let bobBrowser = try await portal.signedIn(client, bob)

            let page = try await browser.submit("/account", to: "/account/sessions/revoke-others", [:])
            #expect(page.status == .seeOther)
            #expect(try await browser.follow(page).contains("All your other sessions were signed out."))
            #expect(try await second.get("/").location == "/login")
            #expect(try await third.get("/").location == "/login")
            #expect(try await browser.get("/").status == .ok)
            #expect(try await bobBrowser.get("/").status == .ok)
            #expect(try await portal.audit("session.revoke_others").first?.details["count"] == "2")
        }
    }

    // MARK: Account switch

    @Test func accountsComeInNameOrderByteForByte() async throws {
        try await withPortal { portal, _ in
            let names = ["b Ltd", "Ørsted", "acme", "Acme"]
            var accounts: [Account] = []
            for name in names { accounts.append(try await portal.account(name)) }
            let alice = try await portal.customer("alice@example.com", accounts: accounts)
            let (token, _) = try await portal.services.sessions.create(for: .customer(alice.id), stage: .complete,
                                                                       client: ClientInfo(address: "127.0.0.1"))
            let found = try #require(try await portal.services.sessions.lookup(token: token)?.customer)
            #expect(found.accounts.map(\.name) == ["Acme", "acme", "b Ltd", "Ørsted"])
        }
    }

    @Test func switchingToOwnAccountChangesTheActiveOne() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let orsted = try await portal.account("Ørsted & Müller Consulting")
            let alice = try await portal.customer("alice@example.com", accounts: [acme, orsted])
            let browser = try await portal.signedIn(client, alice)

            let home = try await browser.get("/")
            #expect(home.body.contains("<option value=\"\(acme.id)\" selected>"))
            let switched = try await browser.post("/account/switch", ["account": orsted.id, "return": "/account"])
            #expect(switched.status == .seeOther)
            #expect(switched.location == "/account")
            let after = try await browser.follow(switched)
            #expect(after.contains("Switched account."))
            #expect(after.body.contains("<option value=\"\(orsted.id)\" selected>"))
            let active = try await portal.database.read { db in
                try String.fetchOne(db, sql: "SELECT active_account_id FROM sessions WHERE principal_id = ?", arguments: [alice.id])
            }
            #expect(active == orsted.id)

            // The return path is only ever a path on this site.
            try await browser.get("/")
            let offsite = try await browser.post("/account/switch", ["account": acme.id, "return": "//evil.example/"])
            #expect(offsite.location == "/")
            // Browsers read a backslash as a slash and drop tabs and newlines, so these are other sites too.
            for trick in ["https://evil.example/", "/\\evil.example/", "/\t/evil.example/", "/\n/evil.example/", "\\\\evil.example"] {
                try await browser.get("/")
                let page = try await browser.post("/account/switch", ["account": acme.id, "return": trick])
                #expect(page.location == "/", "return \(trick.debugDescription) → \(page.location ?? "nil")")
            }
            try await browser.get("/")
            #expect(try await browser.post("/account/switch", ["account": acme.id, "return": "/account#sessions"]).location == "/account#sessions")
        }
    }

    @Test func switchingToSomeoneElsesAccountIsNotFound() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let bakery = try await portal.account("Łódź Bakery Sp. z o.o.")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            _ = try await portal.customer("bob@example.com", accounts: [bakery])
            let browser = try await portal.signedIn(client, alice)

            let page = try await browser.submit("/", to: "/account/switch", ["account": bakery.id])
            #expect(page.status == .notFound)
            #expect(page.contains("Page not found"))
            #expect(!page.contains("Łódź Bakery"))
            try await browser.get("/")
            #expect(try await browser.post("/account/switch", ["account": "acc_doesnotexist"]).status == .notFound)
            let active = try await portal.database.read { db in
                try String.fetchOne(db, sql: "SELECT active_account_id FROM sessions WHERE principal_id = ?", arguments: [alice.id])
            }
            #expect(active == nil)
            let home = try await browser.get("/")
            #expect(home.contains("Acme Widgets GmbH"))
            #expect(!home.contains("Łódź Bakery"))
        }
    }
}
