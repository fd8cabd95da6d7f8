import Foundation
import GRDB
import PortalCore
import Testing

/// `/staff/users` for admins, and `/staff/invite/{token}` for the members they invite.
@Suite struct StaffUsersTests {
    static let password = "harbour willow ember 31"

    /// Loads the staff-users page and posts one of its forms.
    static func act(_ browser: Browser, _ action: String, _ fields: KeyValuePairs<String, String> = [:]) async throws -> Page {
        try await browser.submit("/staff/users", to: action, fields)
    }

    static func member(_ portal: Portal, _ email: String) async throws -> StaffMember {
        try #require(try await portal.services.staffUsers.list().first { $0.user.email == email }, "no staff user \(email)")
    }

    static func staffSessions(_ portal: Portal, _ id: String) async throws -> Int {
        try await portal.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sessions WHERE principal_kind = 'staff' AND principal_id = ?", arguments: [id]) ?? 0
        }
    }

    /// Audit events of `action` made by staff (seeding staff through the directory is audited as the system).
    static func staffActions(_ portal: Portal, _ action: String) async throws -> [AuditEvent] {
        try await portal.audit(action).filter { $0.actorKind == .staff }
    }

    /// The token at the end of an invitation link path.
    static func token(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }

    @Test func anInvitedFinanceMemberSetsAPasswordEnrolsAndSignsIn() async throws {
        try await withPortal { portal, client in
            // Setup
            let admin = try await ImpersonationTests.staff(portal, "admin@example.com", role: .admin)
            let browser = try await ImpersonationTests.signedIn(portal, client, admin)

            // Act: invite
            let list = try await browser.get("/staff/users")
            #expect(list.status == .ok && list.body.contains("<h1>Staff users</h1>") && list.contains("admin@example.com"))
            #expect(list.body.contains("href=\"/staff/users\""), "admins see the nav link")
            let invited = try await browser.post("/staff/users", ["email": " Fiona@Example.com ", "name": "Fiona Finance", "role": "finance"])
            #expect(invited.status == .seeOther && invited.location == "/staff/users")

            // Validate: the email went out; the page says so but never shows the link
            let mail = try #require(try await portal.mail(to: "fiona@example.com").last)
            #expect(mail.message.subject.contains("staff console") && mail.message.textBody.contains("finance"))
            let link = try portal.linkPath(in: mail, prefix: "/staff/invite/")
            let after = try await browser.follow(invited)
            #expect(after.contains("Invitation sent.") && after.contains("Fiona Finance") && after.contains("Invitation sent, link valid until"))
            #expect(!after.body.contains(Self.token(link)) && !after.body.contains("/staff/invite/"))
            let fiona = try await Self.member(portal, "fiona@example.com")
            #expect(fiona.user.role == .finance && fiona.user.status == .invited && fiona.invitationExpiresAt != nil)
            #expect(try await portal.audit("staff.create").first?.actorId == admin.id)

            // Act: accept, in Fiona's own browser
            let hers = Browser(client)
            let page = try await hers.get(link)
            #expect(page.status == .ok && page.contains("staff console") && page.body.contains("<strong>fiona@example.com</strong>"))
            let weak = try await hers.post(link, ["new_password": "short", "new_password_confirm": "short"])
            #expect(weak.status == .unprocessableContent && weak.contains("Use at least 12 characters."))
            let accepted = try await hers.post(link, ["new_password": Self.password, "new_password_confirm": Self.password])
            #expect(accepted.status == .seeOther && accepted.location == "/staff/mfa/setup")
            #expect(accepted.setCookie("portal_staff") != nil && accepted.setCookie("portal_session") == nil)
            #expect(try await hers.get("/staff").location == "/staff/mfa/setup", "MFA is mandatory for staff")

            let setup = try await hers.get("/staff/mfa/setup")
            #expect(setup.status == .ok)
            let secret = try setup.enrolmentSecret()
            let codes = try await hers.post("/staff/mfa/setup", ["code": portal.code(secret)])
            #expect(codes.status == .ok && codes.recoveryCodes.count == 10 && codes.body.contains("href=\"/staff\""))
            let console = try await hers.get("/staff")
            #expect(console.status == .ok && console.contains("fiona@example.com (finance)"))
            #expect(!console.body.contains("href=\"/staff/users\""), "the nav link is for admins only")
            #expect(try await hers.get(link).status == .gone, "the link works once")

            // Validate: a fresh sign-in with the new password and authenticator
            let member = ImpersonationTests.Staff(id: fiona.user.id, email: "fiona@example.com", password: Self.password, secret: secret)
            let again = try await ImpersonationTests.signedIn(portal, client, member)
            #expect(try await again.get("/staff").status == .ok)
            let listed = try await Self.member(portal, "fiona@example.com")
            #expect(listed.user.status == .active && listed.mfaEnrolled && listed.lastSignInAt != nil && listed.invitationExpiresAt == nil)
            let row = try await browser.get("/staff/users")
            #expect(row.body.contains("id=\"staff-\(fiona.user.id)\"") && !row.body.contains(SitePath.staffUserResend(fiona.user.id)))
            #expect(try await portal.audit("staff.invite_accepted").first?.actorId == fiona.user.id)
        }
    }

    @Test func invitingChecksTheEmailAndKeepsWhatWasTyped() async throws {
        try await withPortal { portal, client in
            let admin = try await ImpersonationTests.staff(portal, "admin@example.com", role: .admin)
            let browser = try await ImpersonationTests.signedIn(portal, client, admin)
            let bad = try await Self.act(browser, "/staff/users", ["email": "not-an-email", "name": "Sam", "role": "support"])
            #expect(bad.status == .unprocessableContent && bad.contains("Enter a valid email address.") && bad.body.contains("value=\"Sam\""))
            let taken = try await Self.act(browser, "/staff/users", ["email": "admin@example.com", "name": "Twin", "role": "finance"])
            #expect(taken.status == .unprocessableContent && taken.contains("There is already a staff user with the email admin@example.com."))
            let inviteForm = try #require(taken.body.components(separatedBy: "id=\"invite-staff\"").last)
            #expect(inviteForm.contains("<option value=\"finance\" selected>") && inviteForm.contains("value=\"Twin\""))
            let forged = try await Self.act(browser, "/staff/users", ["email": "sam@example.com", "name": "Sam", "role": "owner"])
            #expect(forged.status == .badRequest)
            #expect(try await Self.staffActions(portal, "staff.create").isEmpty)
            #expect(try await portal.mail(to: "sam@example.com").isEmpty)
        }
    }

    @Test func resendingReplacesTheLink() async throws {
        try await withPortal { portal, client in
            let admin = try await ImpersonationTests.staff(portal, "admin@example.com", role: .admin)
            let browser = try await ImpersonationTests.signedIn(portal, client, admin)
            #expect(try await Self.act(browser, "/staff/users", ["email": "sam@example.com", "name": "Sam", "role": "support"]).status == .seeOther)
            let first = try portal.linkPath(in: try #require(try await portal.mail(to: "sam@example.com").last), prefix: "/staff/invite/")
            let sam = try await Self.member(portal, "sam@example.com")

            let resent = try await Self.act(browser, SitePath.staffUserResend(sam.user.id))
            #expect(resent.location == "/staff/users")
            let page = try await browser.follow(resent)
            #expect(page.contains("A new invitation was sent.") && !page.body.contains("/staff/invite/"))
            let mails = try await portal.mail(to: "sam@example.com")
            #expect(mails.count == 2)
            let second = try portal.linkPath(in: try #require(mails.last), prefix: "/staff/invite/")
            #expect(second != first && !page.body.contains(Self.token(second)))
            let visitor = Browser(client)
            #expect(try await visitor.get(first).status == .gone)
            #expect(try await visitor.get(second).status == .ok)

            // Once accepted there is nothing to resend.
            try await visitor.post(second, ["new_password": Self.password, "new_password_confirm": Self.password])
            let late = try await Self.act(browser, SitePath.staffUserResend(sam.user.id))
            #expect(late.status == .unprocessableContent && late.contains("already accepted their invitation"))
        }
    }

    @Test func changingRolesAndDisablingEndsTheMembersSessions() async throws {
        try await withPortal { portal, client in
            let admin = try await ImpersonationTests.staff(portal, "admin@example.com", role: .admin)
            let finance = try await ImpersonationTests.staff(portal, "finance@example.com", role: .finance)
            let browser = try await ImpersonationTests.signedIn(portal, client, admin)
            let theirs = try await ImpersonationTests.signedIn(portal, client, finance)

            // Role change
            let changed = try await Self.act(browser, SitePath.staffUserRole(finance.id), ["role": "support"])
            #expect(changed.location == "/staff/users")
            #expect(try await browser.follow(changed).contains("Role changed."))
            #expect(try await Self.member(portal, finance.email).user.role == .support)
            #expect(try await theirs.get("/staff").contains("finance@example.com (support)"), "applies on their next page")
            let same = try await Self.act(browser, SitePath.staffUserRole(finance.id), ["role": "support"])
            #expect(same.status == .unprocessableContent && same.contains("They already have that role."))
            #expect(try await Self.act(browser, SitePath.staffUserRole(finance.id), ["role": "root"]).status == .badRequest)
            let role = try #require(try await portal.audit("staff.role").first)
            #expect(role.actorId == admin.id && role.subject == .staff(finance.id) && role.details["to"] == "support")

            // Disable: sessions end and sign-in fails
            let disabled = try await Self.act(browser, SitePath.staffUserDisable(finance.id))
            #expect(disabled.location == "/staff/users")
            let list = try await browser.follow(disabled)
            #expect(list.contains("Staff user disabled.") && list.body.contains(SitePath.staffUserEnable(finance.id)))
            #expect(try await Self.staffSessions(portal, finance.id) == 0)
            #expect(try await theirs.get("/staff").location == "/staff/login")
            let refused = try await Browser(client).submit("/staff/login", ["email": finance.email, "password": finance.password])
            #expect(refused.status == .unauthorized)
            let twice = try await Self.act(browser, SitePath.staffUserDisable(finance.id))
            #expect(twice.status == .unprocessableContent && twice.contains("already disabled"))

            // Enable: they can sign in again
            let enabled = try await Self.act(browser, SitePath.staffUserEnable(finance.id))
            #expect(try await browser.follow(enabled).contains("Staff user enabled."))
            #expect(try await ImpersonationTests.signedIn(portal, client, finance).get("/staff").status == .ok)

            #expect(try await Self.act(browser, SitePath.staffUserDisable("stf_nobody")).status == .notFound)
        }
    }

    @Test func anAdminCannotDisableThemselvesOrLeaveNoActiveAdmin() async throws {
        try await withPortal { portal, client in
            let admin = try await ImpersonationTests.staff(portal, "admin@example.com", role: .admin)
            let browser = try await ImpersonationTests.signedIn(portal, client, admin)
            let list = try await browser.get("/staff/users")
            #expect(!list.body.contains(SitePath.staffUserDisable(admin.id)), "no button offers disabling yourself")

            let selfDisable = try await Self.act(browser, SitePath.staffUserDisable(admin.id))
            #expect(selfDisable.status == .unprocessableContent && selfDisable.contains("You can't disable your own staff user. Ask another admin."))
            let demote = try await Self.act(browser, SitePath.staffUserRole(admin.id), ["role": "finance"])
            #expect(demote.status == .unprocessableContent && demote.contains("This is the only active admin. Make someone else an admin first."))
            let unchanged = try await Self.member(portal, admin.email).user
            #expect(unchanged.role == .admin && unchanged.status == .active)

            // With a second admin, stepping down is allowed and leads out of the admin page.
            let other = try await ImpersonationTests.staff(portal, "second@example.com", role: .admin)
            let stepped = try await Self.act(browser, SitePath.staffUserRole(admin.id), ["role": "finance"])
            #expect(stepped.location == "/staff")
            #expect(try await browser.follow(stepped).contains("Role changed."))
            #expect(try await browser.get("/staff/users").status == .forbidden)
            // The remaining admin is now the last one.
            let theirs = try await ImpersonationTests.signedIn(portal, client, other)
            let last = try await Self.act(theirs, SitePath.staffUserRole(other.id), ["role": "support"])
            #expect(last.status == .unprocessableContent && last.contains("This is the only active admin."))
        }
    }

    @Test func supportAndFinanceAreRefusedEveryStaffUsersRoute() async throws {
        try await withPortal { portal, client in
            let admin = try await ImpersonationTests.staff(portal, "admin@example.com", role: .admin)
            #expect(try await Browser(client).get("/staff/users").location == "/staff/login")
            let posts = ["/staff/users", SitePath.staffUserRole(admin.id), SitePath.staffUserDisable(admin.id),
                         SitePath.staffUserEnable(admin.id), SitePath.staffUserResend(admin.id)]
            for role in [StaffRole.support, .finance] {
                let member = try await ImpersonationTests.staff(portal, "\(role.rawValue)@example.com", role: role)
                let browser = try await ImpersonationTests.signedIn(portal, client, member)
                let page = try await browser.get("/staff/users")
                #expect(page.status == .forbidden && page.contains("This needs the admin role"), "GET as \(role)")
                for path in posts {
                    // A valid CSRF token from a page they may see, so only the role refuses them.
                    let home = try await browser.get("/staff")
                    #expect(!home.body.contains("href=\"/staff/users\""))
                    let refused = try await browser.post(path, ["email": "x@example.com", "name": "X", "role": "admin"])
                    #expect(refused.status == .forbidden, "POST \(path) as \(role) answered \(refused.status)")
                }
            }
            for action in ["staff.create", "staff.role", "staff.disable", "staff.enable", "staff.invite"] {
                #expect(try await Self.staffActions(portal, action).isEmpty, "\(action)")
            }
            #expect(try await Self.member(portal, admin.email).user.status == .active)
        }
    }

    @Test func aCustomerLinkDoesNotOpenTheStaffPageNorTheReverse() async throws {
        try await withPortal { portal, client in
            let admin = try await ImpersonationTests.staff(portal, "admin@example.com", role: .admin)
            let customer = try await InvitationTests().invite(portal, "carol@example.com")
            let actor = AuditEvent.staffActor(try await Self.member(portal, admin.email).user, client: ClientInfo(address: "tests"))
            _ = try await portal.services.staffUsers.create(email: "sam@example.com", name: "Sam", role: .support, actor: actor)
            let staffLink = try portal.linkPath(in: try #require(try await portal.mail(to: "sam@example.com").last), prefix: "/staff/invite/")
            let customerToken = Self.token(customer.path)
            let staffToken = Self.token(staffLink)
            let fields: KeyValuePairs<String, String> = ["new_password": Self.password, "new_password_confirm": Self.password]

            let browser = Browser(client)
            let wrongPage = try await browser.get(SitePath.staffInvite(customerToken))
            #expect(wrongPage.status == .gone && wrongPage.contains("Invitation link not valid") && wrongPage.body.contains("href=\"/staff/login\""))
            // The invalid page has no form; the sign-in page gives the browser a CSRF token to post with.
            try await browser.get("/staff/login")
            let wrongPost = try await browser.post(SitePath.staffInvite(customerToken), fields)
            #expect(wrongPost.status == .gone && wrongPost.setCookie("portal_staff") == nil && wrongPost.setCookie("portal_session") == nil)
            #expect(try await browser.get(SitePath.invite(staffToken)).status == .gone)
            #expect(try await browser.post(SitePath.invite(staffToken), fields).status == .gone)
            #expect(try await portal.audit("user.invite_accepted").isEmpty)
            #expect(try await portal.audit("staff.invite_accepted").isEmpty)

            // Neither link was used up by the wrong page.
            #expect(try await browser.get(customer.path).status == .ok)
            #expect(try await browser.get(staffLink).status == .ok)
            #expect(try await browser.get("/staff/invite/not-a-real-token").status == .gone)
            portal.clock.advance(by: 72 * 3600)
            #expect(try await browser.get(staffLink).status == .gone, "staff links expire like customers'")
        }
    }
}
