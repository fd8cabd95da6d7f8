import Foundation
import GRDB
import PortalCore
import Testing

/// `/login` → `/login/mfa` → `/`, the session cookie, and sign-out.
@Suite struct AuthTests {
    @Test func signInWithPasswordAndCodeReachesTheOverview() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com", name: "Alice Andersen",
                                                  accounts: [try await portal.account("Acme Widgets GmbH")])
            let browser = Browser(client)

            let login = try await browser.get("/login")
            #expect(login.status == .ok)
            #expect(login.contains("Sign in"))
            #expect(login.csrf?.isEmpty == false)

            let password = try await browser.post("/login", ["email": alice.email, "password": alice.password])
            #expect(password.status == .seeOther)
            #expect(password.location == "/login/mfa")
            let afterPassword = try #require(browser.sessionCookie)

            let codePage = try await browser.get("/login/mfa")
            #expect(codePage.status == .ok)
            #expect(codePage.contains("Enter your code"))

            portal.nextStep()
            let code = try await browser.post("/login/mfa", ["code": portal.code(alice.secret)])
            #expect(code.status == .seeOther)
            #expect(code.location == "/")
            let afterCode = try #require(browser.sessionCookie)
            // The session id rotates at the privilege step.
            #expect(afterCode != afterPassword)

            let home = try await browser.get("/")
            #expect(home.status == .ok)
            #expect(home.body.contains("<h1>Overview</h1>"))
            #expect(home.contains("Acme Widgets GmbH"))
            #expect(home.contains(alice.email))

            #expect(try await portal.audit("sign_in.password").contains { $0.outcome == .success && $0.actorId == alice.id })
            #expect(try await portal.audit("sign_in.success").contains { $0.actorId == alice.id && $0.details["method"] == "totp" })
            let lastSignIn = try await portal.database.read { db in
                try Int64.fetchOne(db, sql: "SELECT last_sign_in_at FROM customer_users WHERE id = ?", arguments: [alice.id])
            }
            #expect(lastSignIn == portal.clock.clock.nowSeconds())
        }
    }

    @Test func sessionCookieIsHttpOnlyLaxAndNotSecureOverHTTP() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            let password = try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            let line = try #require(password.setCookie("portal_session"))
            let attributes = cookieAttributes(line)
            #expect(attributes.contains("httponly"))
            #expect(attributes.contains("samesite=lax"))
            #expect(attributes.contains("path=/"))
            #expect(!attributes.contains("secure"))

            // The pre-session cookie that binds the sign-in form's CSRF token is HttpOnly too.
            let pre = try #require(try await Browser(client).get("/login").setCookie("portal_pre"))
            #expect(cookieAttributes(pre).contains("httponly"))
            #expect(cookieAttributes(pre).contains("samesite=lax"))
        }
    }

    @Test func thePasswordStepCookieIsUselessAfterTheCodeStep() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            let captured = try #require(browser.sessionCookie)
            portal.nextStep()
            try await browser.submit("/login/mfa", ["code": portal.code(alice.secret)])
            #expect(try await browser.get("/").status == .ok)

            // Someone holding the cookie from before the code step gets nowhere.
            let attacker = Browser(client)
            attacker.setCookie("portal_session", captured)
            let home = try await attacker.get("/")
            #expect(home.status == .seeOther)
            #expect(home.location == "/login")
            let codePage = try await attacker.get("/login/mfa")
            #expect(codePage.location == "/login")
            #expect(try await portal.sessionCount(of: alice) == 1)
        }
    }

    @Test func wrongPasswordIsRefusedWithoutASession() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            let page = try await browser.submit("/login", ["email": alice.email, "password": "not the password at all"])
            #expect(page.status == .unauthorized)
            #expect(page.contains("That email and password don't match. Check both and try again, or reset your password."))
            // The email stays filled in; the password never comes back.
            #expect(page.body.contains("value=\"alice@example.com\""))
            #expect(!page.contains("not the password at all"))
            #expect(browser.sessionCookie == nil)
            #expect(try await portal.sessionCount(of: alice) == 0)
            #expect(try await browser.get("/").location == "/login")

            let failures = try await portal.audit("sign_in.password").filter { $0.outcome == .failure }
            #expect(failures.count == 1)
            #expect(failures.first?.subject == .customer(alice.id))
            #expect(failures.first?.details["reason"] == "invalid_credentials")
        }
    }

    @Test func unknownEmailGetsExactlyTheWrongPasswordAnswer() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let known = try await Browser(client).submit("/login", ["email": alice.email, "password": "wrong password 1234"])
            let unknown = try await Browser(client).submit("/login", ["email": "nobody@example.com", "password": "wrong password 1234"])
            #expect(known.status == unknown.status)
            #expect(known.setCookie("portal_session") == nil && unknown.setCookie("portal_session") == nil)
            func normalised(_ page: Page, _ email: String) -> String {
                var body = page.body.replacingOccurrences(of: email, with: "EMAIL")
                if let csrf = page.csrf { body = body.replacingOccurrences(of: csrf, with: "CSRF") }
                return body
            }
            #expect(normalised(known, alice.email) == normalised(unknown, "nobody@example.com"))
            let failures = try await portal.audit("sign_in.password").filter { $0.outcome == .failure }
            #expect(failures.map(\.actorLabel).sorted() == ["alice@example.com", "nobody@example.com"])
        }
    }

    @Test func whatVisitorsTypeIsEscapedWhenShownBack() async throws {
        try await withPortal { portal, client in
            let attack = "\"><script>alert(1)</script>@example.com"
            let login = try await Browser(client).submit("/login", ["email": attack, "password": "some password here"])
            #expect(login.status == .unauthorized)
            #expect(!login.body.contains("<script>alert"))
            #expect(login.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let forgot = try await Browser(client).submit("/password/forgot", ["email": attack])
            #expect(forgot.status == .ok)
            #expect(!forgot.body.contains("<script>alert"))
        }
    }

    @Test func aSessionIdChosenBeforeSignInIsNeverAdopted() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            let planted = "attacker-chosen-session-value-0123456789abcdef"
            browser.setCookie("portal_session", planted)
            let login = try await browser.get("/login")
            #expect(login.status == .ok)
            // The unknown id is dropped straight away.
            #expect(login.setCookie("portal_session").map { cookieAttributes($0).contains("max-age=0") } == true)
            try await portal.signIn(browser, alice)
            #expect(browser.sessionCookie != planted)
            let stored = try await portal.database.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sessions WHERE id_hash = ?", arguments: [SecretToken.hash(planted)])
            }
            #expect(stored == 0)
        }
    }

    @Test func emailCaseDoesNotMatter() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            #expect(try await browser.submit("/login", ["email": "  Alice@Example.COM ", "password": alice.password]).location == "/login/mfa")
        }
    }

    @Test func aFlashCookieCanOnlyNameAKnownMessage() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            browser.setCookie("portal_flash", "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
            let page = try await browser.get("/login")
            #expect(page.status == .ok)
            #expect(!page.body.contains("class=\"flash\""))
            #expect(!page.body.contains("alert(1)"))
            browser.setCookie("portal_flash", "signed-out")
            #expect(try await browser.get("/login").contains("You have signed out."))
            // Shown once.
            #expect(!(try await browser.get("/login").contains("You have signed out.")))
        }
    }

    @Test func emptyFieldsAreAskedFor() async throws {
        try await withPortal { portal, client in
            let page = try await Browser(client).submit("/login", ["email": "", "password": ""])
            #expect(page.status == .badRequest)
            #expect(page.contains("Enter your email and password."))
            #expect(try await portal.audit("sign_in.password").isEmpty)
        }
    }

    @Test func wrongCodeKeepsTheUserOnTheCodePage() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            portal.nextStep()
            let wrong = try await browser.submit("/login/mfa", ["code": portal.wrongCode(alice.secret)])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.contains("That code didn't work."))
            #expect(wrong.contains("Enter your code"))
            #expect(try await browser.get("/").location == "/login/mfa")
            let failure = try #require(try await portal.audit("sign_in.mfa").first)
            #expect(failure.outcome == .failure && failure.actorId == alice.id && failure.details["reason"] == "invalid_code")

            // The right code still works afterwards.
            let right = try await browser.submit("/login/mfa", ["code": portal.code(alice.secret)])
            #expect(right.location == "/")
        }
    }

    @Test func aCodeCannotBeReplayed() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let first = Browser(client)
            try await first.submit("/login", ["email": alice.email, "password": alice.password])
            portal.nextStep()
            let code = portal.code(alice.secret)
            #expect(try await first.submit("/login/mfa", ["code": code]).location == "/")

            // Same code, same time step, another browser that knows the password.
            let second = Browser(client)
            try await second.submit("/login", ["email": alice.email, "password": alice.password])
            let replay = try await second.submit("/login/mfa", ["code": code])
            #expect(replay.status == .unauthorized)
            #expect(replay.contains("Each code works only once."))
            #expect(try await second.get("/").location == "/login/mfa")

            // An earlier step's code, still inside the clock-drift window, is refused too.
            let earlier = TOTPGenerator(secret: alice.secret).code(at: portal.clock.date.addingTimeInterval(-30))
            #expect(try await second.submit("/login/mfa", ["code": earlier]).status == .unauthorized)
        }
    }

    @Test func aRecoveryCodeSignsInOnce() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let recovery = try #require(alice.recoveryCodes.first)
            let first = Browser(client)
            try await first.submit("/login", ["email": alice.email, "password": alice.password])
            #expect(try await first.submit("/login/mfa", ["code": recovery]).location == "/")
            #expect(try await portal.audit("sign_in.success").first?.details["method"] == "recovery_code")

            let second = Browser(client)
            try await second.submit("/login", ["email": alice.email, "password": alice.password])
            #expect(try await second.submit("/login/mfa", ["code": recovery]).status == .unauthorized)

            let account = try await first.get("/account")
            #expect(account.body.contains("<strong id=\"recovery-remaining\">9</strong>"))
        }
    }

    @Test func theCodeStepNeedsAPasswordStepFirst() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            let page = try await browser.get("/login/mfa")
            #expect(page.status == .seeOther)
            #expect(page.location == "/login")

            try await browser.get("/login")
            let post = try await browser.post("/login/mfa", ["code": portal.code(alice.secret)])
            #expect(post.status == .seeOther)
            #expect(post.location == "/login")
            #expect(try await browser.follow(post).contains("Your sign-in took too long or expired."))
            #expect(try await portal.audit("sign_in.success").isEmpty)
        }
    }

    @Test func anUnfinishedSignInExpiresAfterTenMinutes() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            let form = try await browser.get("/login/mfa")
            #expect(form.status == .ok)
            portal.clock.advance(by: 10 * 60 + 1)
            // The form's token was bound to the session that just ended: the post changes nothing and
            // the user is told to start again.
            let late = try await browser.post("/login/mfa", ["code": portal.code(alice.secret)])
            #expect(late.status == .seeOther && late.location == "/login")
            #expect(try await browser.follow(late).contains("Your session ended, so nothing was changed."))
            #expect(try await portal.sessionCount(of: alice) == 0)
            #expect(try await portal.audit("sign_in.success").isEmpty)
            // Reloading sends the user back to the start.
            #expect(try await browser.get("/login/mfa").location == "/login")
        }
    }

    @Test func signedInVisitorsAreSentOnFromTheLoginPage() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let pending = Browser(client)
            try await pending.submit("/login", ["email": alice.email, "password": alice.password])
            #expect(try await pending.get("/login").location == "/login/mfa")
            #expect(try await pending.get("/").location == "/login/mfa")
            #expect(try await pending.get("/account").location == "/login/mfa")

            let done = try await portal.signedIn(client, alice)
            #expect(try await done.get("/login").location == "/")
        }
    }

    @Test func signingInAgainEndsThePreviousSession() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.submit("/login", ["email": alice.email, "password": alice.password])
            let first = try #require(browser.sessionCookie)
            // A second password step from the same browser replaces the pending session rather than upgrading it.
            try await browser.get("/login/mfa")
            let again = try await browser.post("/login", ["email": alice.email, "password": alice.password])
            #expect(again.location == "/login/mfa")
            #expect(browser.sessionCookie != first)
            #expect(try await portal.sessionCount(of: alice) == 1)

            // A form from before the first password step no longer matches this browser.
            let stale = Browser(client)
            let staleToken = try #require(try await stale.get("/login").csrf)
            try await stale.post("/login", ["email": alice.email, "password": alice.password])
            let tab = try await stale.post("/login", ["email": alice.email, "password": alice.password], csrf: .token(staleToken))
            #expect(tab.status == .forbidden)
        }
    }

    @Test func signOutIsPostOnlyAndEndsTheSession() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let token = try #require(browser.sessionCookie)

            // A link or image pointing at /logout does nothing.
            let get = try await browser.get("/logout")
            #expect(get.status == .notFound)
            #expect(try await browser.get("/").status == .ok)

            // A cross-site form without the token does nothing either.
            let forged = try await browser.post("/logout", csrf: .none)
            #expect(forged.status == .forbidden)
            #expect(try await browser.get("/").status == .ok)

            try await browser.get("/")
            let out = try await browser.post("/logout")
            #expect(out.status == .seeOther)
            #expect(out.location == "/login")
            let cleared = try #require(out.setCookie("portal_session"))
            #expect(cookieAttributes(cleared).contains("max-age=0"))
            #expect(browser.sessionCookie == nil)
            #expect(try await browser.follow(out).contains("You have signed out."))
            #expect(try await portal.sessionCount(of: alice) == 0)
            #expect(try await portal.audit("sign_out").first?.actorId == alice.id)

            // The old cookie, replayed, is not a session any more.
            let replay = Browser(client)
            replay.setCookie("portal_session", token)
            let home = try await replay.get("/")
            #expect(home.location == "/login")
        }
    }

    @Test func aDisabledUserIsSignedOutAndCannotSignIn() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            try await portal.database.write { db in
                try db.execute(sql: "UPDATE customer_users SET status = 'disabled' WHERE id = ?", arguments: [alice.id])
            }
            #expect(try await browser.get("/").location == "/login")
            #expect(try await browser.get("/account").location == "/login")

            let again = try await Browser(client).submit("/login", ["email": alice.email, "password": alice.password])
            #expect(again.status == .unauthorized)
            #expect(again.contains("That email and password don't match."))
        }
    }

    @Test func signInWorksWithProductionHashParameters() async throws {
        try await withPortal(hasher: PasswordHasher()) { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let hash = try #require(try await portal.passwordHash(of: alice))
            #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
            let browser = try await portal.signedIn(client, alice)
            #expect(try await browser.get("/").status == .ok)
            let wrong = try await Browser(client).submit("/login", ["email": alice.email, "password": "definitely not it"])
            #expect(wrong.status == .unauthorized)
        }
    }
}
