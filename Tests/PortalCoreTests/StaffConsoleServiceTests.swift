import Foundation
import GRDB
import Testing
@testable import PortalCore

@Suite struct StaffConsoleSearchTests {
    /// Alice (Acme Widgets, INV-1042), Bob (Globex, INV-2000), and two accounts whose names contain
    /// `%` and `_`, to show those are matched as themselves.
    struct World {
        let t: TestServices
        let alice: String, bob: String, carol: String, dave: String
        let acme: Account, globex: Account, organic: Account, thousand: Account

        init() async throws {
            t = try await TestServices()
            let d = t.services.directory
            acme = try await d.upsertAccount(name: "Acme Widgets", externalId: "CRM-ACME-1")
            globex = try await d.upsertAccount(name: "Globex", externalId: "CRM-GLX-7")
            organic = try await d.upsertAccount(name: "100% Organic", externalId: "CRM-ORG")
            thousand = try await d.upsertAccount(name: "1000 Things", externalId: "CRM-THOU")
            alice = try await t.customer("alice@example.com", name: "Alice Smith", accounts: [acme])
            bob = try await t.customer("bob@other.org", name: "Bob Jones", accounts: [globex, acme])
            carol = try await t.customer("o_brien@example.com", name: "Carol", accounts: [organic])
            dave = try await t.customer("oxbow@example.com", name: "Dave", accounts: [thousand])
            try await t.invoice(acme, number: "INV-1042")
            try await t.invoice(globex, number: "INV-2000")
        }

        func ids(_ query: String) async throws -> [String] {
            try await t.services.staffConsole.search(query).map(\.user.id)
        }
    }

    @Test func findsByNameAnywhereInItIgnoringCase() async throws {
        let w = try await World()
        let results = try await w.t.services.staffConsole.search("SMITH")
        #expect(results.map(\.user.id) == [w.alice])
        #expect(results[0].matches == [.init(field: .name, value: "Alice Smith")])
        #expect(results[0].user.email == "alice@example.com" && results[0].user.status == .active)
        #expect(results[0].accounts.map(\.id) == [w.acme.id])
    }

    @Test func findsByEmail() async throws {
        let w = try await World()
        let results = try await w.t.services.staffConsole.search("other.ORG")
        #expect(results.map(\.user.id) == [w.bob])
        #expect(results[0].matches == [.init(field: .email, value: "bob@other.org")])
        #expect(results[0].matchedAccounts.isEmpty)
    }

    @Test func findsEveryUserOfAnAccountByItsName() async throws {
        let w = try await World()
        let results = try await w.t.services.staffConsole.search("widgets")
        #expect(Set(results.map(\.user.id)) == [w.alice, w.bob])
        let bob = try #require(results.first { $0.user.id == w.bob })
        #expect(bob.matches == [.init(field: .accountName, value: "Acme Widgets", accountId: w.acme.id)])
        // Bob belongs to two accounts; the one found is named.
        #expect(bob.accounts.count == 2)
        #expect(bob.matchedAccounts.map(\.id) == [w.acme.id])
    }

    @Test func findsByTheStartOfTheAccountsCRMId() async throws {
        let w = try await World()
        let results = try await w.t.services.staffConsole.search("crm-glx")
        #expect(results.map(\.user.id) == [w.bob])
        #expect(results[0].matches == [.init(field: .accountExternalId, value: "CRM-GLX-7", accountId: w.globex.id)])
        #expect(try await w.ids("GLX-7").isEmpty)
    }

    @Test func findsByTheStartOfAnInvoiceNumber() async throws {
        let w = try await World()
        let results = try await w.t.services.staffConsole.search("inv-10")
        #expect(Set(results.map(\.user.id)) == [w.alice, w.bob])
        #expect(results.allSatisfy { $0.matches == [.init(field: .invoiceNumber, value: "INV-1042", accountId: w.acme.id)] })
        #expect(Set(try await w.ids("INV-")) == [w.alice, w.bob])
        #expect(try await w.ids("INV-3").isEmpty)
    }

    @Test func percentAndUnderscoreAreMatchedAsThemselves() async throws {
        let w = try await World()
        // As wildcards, "100%" would also match "1000 Things" and "o_b" would match "oxbow".
        #expect(try await w.ids("100%") == [w.carol])
        #expect(try await w.ids("o_b") == [w.carol])
        #expect(try await w.ids("%") == [w.carol])
        #expect(try await w.ids("_") == [w.carol])
        #expect(try await w.ids("\\").isEmpty)
    }

    @Test func anExactMatchComesFirstAndTheLimitHolds() async throws {
        let w = try await World()
        let all = try await w.t.services.staffConsole.search("example.com")
        #expect(all.count == 3)
        #expect(try await w.t.services.staffConsole.search("example.com", limit: 2).count == 2)
        #expect(try await w.t.services.staffConsole.search("   ").isEmpty)
        // Bob's exact invoice number ranks him ahead of Alice, whose name sorts first.
        try await w.t.invoice(w.globex, number: "INV-10")
        let ranked = try await w.t.services.staffConsole.search("INV-10")
        #expect(ranked.first?.user.id == w.bob)
    }

    @Test func invoiceNumbersAreSearchedThroughAnIndex() async throws {
        let t = try await TestServices()
        let plan = try await t.database.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT account_id FROM invoices WHERE number LIKE ? ESCAPE '\\'",
                             arguments: [LikePattern.prefix("INV-1")]).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("invoices_number_nocase") }, "\(plan)")
    }
}

@Suite struct StaffConsoleCustomerViewTests {
    @Test func showsTheUserTheirAccountsAndTheirActivity() async throws {
        let t = try await TestServices()
        let support = try await t.staffMember("sue@staff.test", role: .support)
        let acme = try await t.services.directory.upsertAccount(name: "Acme", externalId: "CRM-1")
        let alice = try await t.customer("alice@example.com", name: "Alice Smith", accounts: [acme])
        let bob = try await t.customer("bob@example.com", name: "Bob", accounts: [acme])
        let older = try await t.invoice(acme, number: "INV-1", issued: "2026-11-01", due: "2026-12-01")
        let newer = try await t.invoice(acme, number: "INV-2", issued: "2026-12-01", due: "2027-03-01")
        let paymentId = try await t.services.ledger.recordSucceeded(.init(
            accountId: acme.id, invoiceIds: [older], amount: Money(4_000, CurrencyCode("USD")!), methodBrand: "visa", methodLast4: "4242"))
        let card = try await t.savedCard(acme, gatewayMethodId: "pm_gw_secret_123", gatewayCustomerId: "cus_gw_secret_456")
        let aliceActor = AuditEvent(action: "", actorKind: .customer, actorId: alice, actorLabel: "alice@example.com",
                                    subject: .customer(alice))
        try await t.services.autopay.enroll(CustomerScope(userId: alice, accountId: acme.id), methodId: card, timing: .onDueDate,
                                            consentGiven: true, accountName: "Acme", email: "alice@example.com",
                                            client: TestServices.client, actor: aliceActor)
        // A payment waiting for the customer's bank (3-D Secure) carries a client secret.
        try await t.database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO payments (id, account_id, amount, currency, status, gateway, created_at, gateway_phase, action_client_secret, source)
                VALUES ('pay_pending', ?, 500, 'USD', 'pending', 'sandbox', ?, 'sent', 'pi_3ds_client_secret_789', 'portal')
                """, arguments: [acme.id, t.clock.clock.nowSeconds() + 1])
        }
        _ = try await t.liveSession(.customer(alice))
        try await t.services.staffConsole.lock(userId: bob, reason: "fraud check", actor: t.actor(support))

        let view = try #require(try await t.services.staffConsole.customerView(userId: alice))

        #expect(view.user.email == "alice@example.com" && view.user.status == .active)
        #expect(view.mfaEnrolled)
        #expect(view.activeSessions == 1)
        #expect(view.invitationExpiresAt == nil)
        let section = try #require(view.accounts.first)
        #expect(view.accounts.count == 1 && section.account.id == acme.id)
        #expect(section.users.map(\.id) == [alice, bob])
        #expect(section.users.last?.status == .disabled)
        #expect(section.invoices.map(\.id) == [newer, older])
        #expect(section.invoices.last?.balance == Money(6_000, CurrencyCode("USD")!))
        #expect(section.payments.map(\.id) == ["pay_pending", paymentId])
        #expect(section.payments.first?.requiresAction == true)
        #expect(section.payments.last?.allocations.map(\.invoiceNumber) == ["INV-1"])
        #expect(section.paymentMethods.map(\.label) == ["Visa •••• 4242"])
        #expect(section.paymentMethods.first?.expMonth == 12 && section.paymentMethods.first?.expYear == 2031)
        #expect(section.autopay?.methodLabel == "Visa •••• 4242")
        #expect(view.activity.contains { $0.action == "autopay.enroll" && $0.actorId == alice })
        #expect(view.activity.contains { $0.action == "user.invite" && $0.subject == .customer(alice) })
        #expect(!view.activity.contains { $0.subject == .customer(bob) })
        #expect(view.activity.map(\.id) == view.activity.map(\.id).sorted(by: >))

        // Nothing that lets anyone charge the card or finish the payment reaches the console.
        let everything = String(reflecting: view)
        for secret in ["pm_gw_secret_123", "cus_gw_secret_456", "pi_3ds_client_secret_789", "fp_secret"] {
            #expect(!everything.contains(secret), "\(secret) leaked into the customer view")
        }
    }

    @Test func anInvitedUserShowsWhenTheirLinkExpires() async throws {
        let t = try await TestServices()
        let acme = try await t.services.directory.upsertAccount(name: "Acme")
        let invite = try await t.services.invitations.invite(email: "new@example.com", accounts: [acme.id],
                                                             invitedBy: AuditEvent(action: "", actorKind: .system))
        let view = try #require(try await t.services.staffConsole.customerView(userId: invite.userId))
        #expect(view.user.status == .invited)
        #expect(view.invitationExpiresAt == t.clock.clock.nowSeconds() + 72 * 3600)
        #expect(!view.mfaEnrolled)
        #expect(try await t.services.staffConsole.customerView(userId: "usr_unknown") == nil)
    }

    @Test func activityIncludesEventsLimitedToTheLatest() async throws {
        let t = try await TestServices()
        let acme = try await t.services.directory.upsertAccount(name: "Acme")
        let alice = try await t.customer("alice@example.com", name: "Alice", accounts: [acme])
        for n in 0..<60 {
            try await t.services.audit.record(AuditEvent(action: "test.event", actorKind: .customer, actorId: alice,
                                                         details: ["n": "\(n)"]))
        }
        let view = try #require(try await t.services.staffConsole.customerView(userId: alice))
        #expect(view.activity.count == 50)
        #expect(view.activity.first?.details["n"] == "59")
    }
}

@Suite struct StaffConsoleActionTests {
    struct World {
        let t: TestServices
        let support: StaffUser
        let acme: Account
        let alice: String
        let bob: String

        init() async throws {
            t = try await TestServices()
            support = try await t.staffMember("sue@staff.test", role: .support)
            acme = try await t.services.directory.upsertAccount(name: "Acme")
            alice = try await t.customer("alice@example.com", name: "Alice", accounts: [acme])
            bob = try await t.customer("bob@example.com", name: "Bob", accounts: [acme])
        }

        var console: StaffConsoleService { t.services.staffConsole }
        var actor: AuditEvent { t.actor(support) }

        func status(_ id: String) async throws -> UserStatus? {
            try await t.services.users.credential(.customer(id))?.status
        }
    }

    @Test func lockingDisablesSignsOutEverywhereAndIsAudited() async throws {
        let w = try await World()
        _ = try await w.t.liveSession(.customer(w.alice))
        _ = try await w.t.liveSession(.customer(w.alice))
        _ = try await w.t.liveSession(.customer(w.bob))

        #expect(try await w.console.lock(userId: w.alice, reason: "  Card testing from her login  ", actor: w.actor) == .disabled)

        #expect(try await w.status(w.alice) == .disabled)
        #expect(try await w.t.sessionCount(.customer(w.alice)) == 0)
        #expect(try await w.t.sessionCount(.customer(w.bob)) == 1)
        let event = try #require(try await w.t.services.audit.events(action: "user.lock").first)
        #expect(event.actorKind == .staff && event.actorId == w.support.id && event.actorLabel == "sue@staff.test")
        #expect(event.clientAddress == "10.1.2.3")
        #expect(event.subject == .customer(w.alice))
        #expect(event.details["reason"] == "Card testing from her login")
        #expect(event.details["sessions_revoked"] == "2")
        // A locked user's right password no longer signs in.
        await #expect(throws: SignInError.invalidCredentials) {
            try await w.t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "correct horse battery",
                                               client: TestServices.client)
        }
    }

    @Test func unlockingRestoresTheStatusTheUserHadEarned() async throws {
        let w = try await World()
        try await w.console.lock(userId: w.alice, reason: "suspicious", actor: w.actor)
        #expect(try await w.console.unlock(userId: w.alice, reason: "verified by phone", actor: w.actor) == .active)
        #expect(try await w.status(w.alice) == .active)
        let event = try #require(try await w.t.services.audit.events(action: "user.unlock").first)
        #expect(event.actorId == w.support.id && event.details["reason"] == "verified by phone" && event.subject == .customer(w.alice))
        #expect(try await w.t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "correct horse battery",
                                                   client: TestServices.client).next == .secondFactor)

        // Someone who never set a password goes back to invited, not to active.
        let invited = try await w.t.services.invitations.invite(email: "new@example.com", accounts: [w.acme.id],
                                                                invitedBy: AuditEvent(action: "", actorKind: .system))
        try await w.console.lock(userId: invited.userId, reason: "wrong address", actor: w.actor)
        #expect(try await w.console.unlock(userId: invited.userId, reason: "address confirmed", actor: w.actor) == .invited)
    }

    @Test func lockAndUnlockRefuseWhatCannotBeDone() async throws {
        let w = try await World()
        await #expect(throws: StaffConsoleError.reasonRequired) { try await w.console.lock(userId: w.alice, reason: "  ", actor: w.actor) }
        #expect(try await w.status(w.alice) == .active)
        await #expect(throws: StaffConsoleError.notLocked) { try await w.console.unlock(userId: w.alice, reason: "x", actor: w.actor) }
        await #expect(throws: StaffConsoleError.userNotFound) { try await w.console.lock(userId: "usr_nobody", reason: "x", actor: w.actor) }
        try await w.console.lock(userId: w.alice, reason: "x", actor: w.actor)
        await #expect(throws: StaffConsoleError.alreadyLocked) { try await w.console.lock(userId: w.alice, reason: "x", actor: w.actor) }
        #expect(try await w.t.services.audit.events(action: "user.lock").count == 1)
        #expect(try await w.t.services.audit.events(action: "user.unlock").isEmpty)
    }

    @Test func onlyActiveStaffMayAct() async throws {
        let w = try await World()
        let customerActor = AuditEvent(action: "", actorKind: .customer, actorId: w.bob, actorLabel: "bob@example.com")
        await #expect(throws: StaffConsoleError.notPermitted) { try await w.console.lock(userId: w.alice, reason: "x", actor: customerActor) }
        // A staff actor that names nobody, or a member who was disabled meanwhile, cannot act either.
        var ghost = w.actor
        ghost.actorId = "stf_nobody"
        await #expect(throws: StaffConsoleError.notPermitted) { try await w.console.lock(userId: w.alice, reason: "x", actor: ghost) }
        let admin = try await w.t.staffMember("ada@staff.test", role: .admin)
        try await w.t.services.staffUsers.disable(staffId: w.support.id, actor: w.t.actor(admin))
        await #expect(throws: StaffConsoleError.notPermitted) { try await w.console.lock(userId: w.alice, reason: "x", actor: w.actor) }
        await #expect(throws: StaffConsoleError.notPermitted) { try await w.console.resetMFA(userId: w.alice, reason: "x", actor: w.actor) }
        await #expect(throws: StaffConsoleError.notPermitted) { try await w.console.reinvite(userId: w.alice, actor: w.actor) }
        #expect(try await w.status(w.alice) == .active)
    }

    @Test func resettingTwoStepSignInNeedsAReasonRemovesItSignsOutEmailsAndAudits() async throws {
        let w = try await World()
        _ = try await w.t.liveSession(.customer(w.alice))
        await #expect(throws: StaffConsoleError.reasonRequired) { try await w.console.resetMFA(userId: w.alice, reason: "", actor: w.actor) }
        #expect(try await w.t.services.mfa.status(.customer(w.alice)).enrolled)

        try await w.console.resetMFA(userId: w.alice, reason: "Lost phone, identity checked on a call", actor: w.actor)

        let status = try await w.t.services.mfa.status(.customer(w.alice))
        #expect(!status.enrolled && status.recoveryCodesRemaining == 0)
        #expect(try await w.t.services.mfa.status(.customer(w.bob)).enrolled)
        #expect(try await w.t.sessionCount(.customer(w.alice)) == 0)
        let mail = try #require(try await w.t.mail(to: "alice@example.com").last)
        #expect(mail.subject == "Support reset your two-step sign-in")
        #expect(mail.textBody.contains("set up an authenticator app again the next time you sign in"))
        #expect(mail.textBody.contains("If you didn't ask for this, contact us"))
        #expect(mail.textBody.contains("https://portal.test/login"))
        #expect(mail.htmlBody?.contains("contact us") == true)
        // The staff member's reason is for the audit trail, not the customer's inbox.
        #expect(!mail.textBody.contains("Lost phone"))
        let event = try #require(try await w.t.services.audit.events(action: "mfa.reset").first)
        #expect(event.actorKind == .staff && event.actorId == w.support.id && event.subject == .customer(w.alice))
        #expect(event.details["reason"] == "Lost phone, identity checked on a call" && event.details["sessions_revoked"] == "1")
        // The next sign-in goes to enrolment.
        #expect(try await w.t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "correct horse battery",
                                                   client: TestServices.client).next == .enrolment)
        await #expect(throws: StaffConsoleError.mfaNotSetUp) { try await w.console.resetMFA(userId: w.alice, reason: "again", actor: w.actor) }
        await #expect(throws: StaffConsoleError.userNotFound) { try await w.console.resetMFA(userId: "usr_x", reason: "x", actor: w.actor) }
    }

    @Test func reinvitingSendsAFreshLinkAndRetiresTheOldOne() async throws {
        let w = try await World()
        let first = try await w.t.services.invitations.invite(email: "new@example.com", name: "New", accounts: [w.acme.id],
                                                              invitedBy: AuditEvent(action: "", actorKind: .system))
        let oldToken = try #require(try await w.t.emailedToken(to: "new@example.com", prefix: "/invite"))
        w.t.clock.advance(by: 3600)

        let again = try await w.console.reinvite(userId: first.userId, actor: w.actor)

        #expect(again.userId == first.userId && !again.isNewUser && again.link != first.link)
        let mails = try await w.t.mail(to: "new@example.com")
        #expect(mails.count == 2)
        #expect(mails.last?.textBody.contains("Acme") == true)
        let newToken = try #require(try await w.t.emailedToken(to: "new@example.com", prefix: "/invite"))
        #expect(again.link.hasSuffix(newToken))
        await #expect(throws: InvitationError.invalidOrExpired) { try await w.t.services.invitations.lookup(token: oldToken) }
        #expect(try await w.t.services.invitations.lookup(token: newToken) == "new@example.com")
        let event = try #require(try await w.t.services.audit.events(action: "user.invite").first)
        #expect(event.actorId == w.support.id && event.subject == .customer(first.userId) && event.details["resent"] == "true")
        #expect(event.details["accounts"] == w.acme.id)
        let view = try await w.console.customerView(userId: first.userId)
        #expect(view?.invitationExpiresAt == w.t.clock.clock.nowSeconds() + 72 * 3600)
    }

    @Test func reinvitingRefusesActiveAndLockedUsers() async throws {
        let w = try await World()
        await #expect(throws: StaffConsoleError.alreadyActive) { try await w.console.reinvite(userId: w.alice, actor: w.actor) }
        let invited = try await w.t.services.invitations.invite(email: "new@example.com", accounts: [w.acme.id],
                                                                invitedBy: AuditEvent(action: "", actorKind: .system))
        try await w.console.lock(userId: invited.userId, reason: "wrong address", actor: w.actor)
        await #expect(throws: StaffConsoleError.lockedUser) { try await w.console.reinvite(userId: invited.userId, actor: w.actor) }
        await #expect(throws: StaffConsoleError.userNotFound) { try await w.console.reinvite(userId: "usr_x", actor: w.actor) }
        #expect(try await w.t.mail(to: "alice@example.com").filter { $0.subject.contains("invited") }.count == 1)
    }
}
