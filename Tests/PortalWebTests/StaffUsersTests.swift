import Foundation
import GRDB
import PortalCore
import Testing

/// `/staff/invite/{token}` for the members admins invite.
@Suite struct StaffUsersTests {
    static let password = "harbour willow ember 31"

    static func member(_ portal: Portal, _ email: String) async throws -> StaffMember {
        try #require(try await portal.services.staffUsers.list().first { $0.user.email == email }, "no staff user \(email)")
    }

    /// The token at the end of an invitation link path.
    static func token(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }

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
