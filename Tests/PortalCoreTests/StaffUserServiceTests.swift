import Foundation
import GRDB
import Testing
@testable import PortalCore

@Suite struct StaffUserServiceTests {
    struct World {
        let t: TestServices
        let admin: StaffUser

        init() async throws {
            t = try await TestServices()
            admin = try await t.staffMember("ada@staff.test", role: .admin)
        }

        var staff: StaffUserService { t.services.staffUsers }
        var actor: AuditEvent { t.actor(admin) }

        func member(_ id: String) async throws -> StaffMember? {
            try await staff.list().first { $0.user.id == id }
        }
    }

    @Test func anInvitedMemberSetsTheirPasswordWithTheEmailedLinkOnce() async throws {
        let w = try await World()
        let invitation = try await w.staff.create(email: " Sam@Staff.Test ", name: "Sam", role: .finance, actor: w.actor)

        #expect(invitation.staff.email == "sam@staff.test" && invitation.staff.role == .finance && invitation.staff.status == .invited)
        let mail = try #require(try await w.t.mail(to: "sam@staff.test").last)
        #expect(mail.subject.contains("staff console"))
        #expect(mail.textBody.contains("finance") && mail.textBody.contains("72 hours"))
        let token = try #require(try await w.t.emailedToken(to: "sam@staff.test", prefix: SitePath.staffInvitePrefix))
        #expect(invitation.link == "https://portal.test" + SitePath.staffInvite(token))
        let event = try #require(try await w.t.services.audit.events(action: "staff.create").first)
        #expect(event.actorId == w.admin.id && event.subject == .staff(invitation.staff.id) && event.details["role"] == "finance")
        // Signing in is impossible until the password is set.
        await #expect(throws: SignInError.invalidCredentials) {
            try await w.t.services.auth.signIn(kind: .staff, email: "sam@staff.test", password: "", client: TestServices.client)
        }

        // A staff link is not a customer invitation, whichever page it is taken to.
        await #expect(throws: InvitationError.invalidOrExpired) { try await w.t.services.invitations.lookup(token: token) }
        await #expect(throws: InvitationError.invalidOrExpired) {
            try await w.t.services.invitations.accept(token: token, password: "a fine long password", confirmation: "a fine long password",
                                                      client: TestServices.client)
        }
        #expect(try await w.t.services.invitations.lookup(token: token, kind: .staff) == "sam@staff.test")
        let (_, session) = try await w.t.services.invitations.accept(
            token: token, password: "a fine long password", confirmation: "a fine long password", client: TestServices.client, kind: .staff)

        #expect(session.principal == .staff(invitation.staff.id) && session.stage == .enrolment)
        #expect(try await w.member(invitation.staff.id)?.user.status == .active)
        #expect(try await w.t.services.audit.events(action: "staff.invite_accepted").first?.subject == .staff(invitation.staff.id))
        await #expect(throws: InvitationError.invalidOrExpired) {
            try await w.t.services.invitations.accept(token: token, password: "another long password", confirmation: "another long password",
                                                      client: TestServices.client, kind: .staff)
        }
        #expect(try await w.t.services.auth.signIn(kind: .staff, email: "sam@staff.test", password: "a fine long password",
                                                   client: TestServices.client).next == .enrolment)
    }

    @Test func theLinkExpiresAfterThreeDaysAndCanBeSentAgain() async throws {
        let w = try await World()
        let invitation = try await w.staff.create(email: "sam@staff.test", name: "Sam", role: .support, actor: w.actor)
        let first = try #require(try await w.t.emailedToken(to: "sam@staff.test", prefix: SitePath.staffInvitePrefix))
        #expect(try await w.member(invitation.staff.id)?.invitationExpiresAt == w.t.clock.clock.nowSeconds() + 72 * 3600)
        w.t.clock.advance(by: 72 * 3600 + 1)
        await #expect(throws: InvitationError.invalidOrExpired) { try await w.t.services.invitations.lookup(token: first, kind: .staff) }
        #expect(try await w.member(invitation.staff.id)?.invitationExpiresAt == nil)

        let again = try await w.staff.resendInvitation(staffId: invitation.staff.id, actor: w.actor)

        let second = try #require(try await w.t.emailedToken(to: "sam@staff.test", prefix: SitePath.staffInvitePrefix))
        #expect(second != first && again.link.hasSuffix(second))
        #expect(try await w.t.services.invitations.lookup(token: second, kind: .staff) == "sam@staff.test")
        #expect(try await w.t.services.audit.events(action: "staff.invite").first?.details["resent"] == "true")
        _ = try await w.t.services.invitations.accept(token: second, password: "a fine long password", confirmation: "a fine long password",
                                                      client: TestServices.client, kind: .staff)
        await #expect(throws: StaffUserError.notInvited) { try await w.staff.resendInvitation(staffId: invitation.staff.id, actor: w.actor) }
    }

    @Test func onlyAnActiveAdminManagesStaff() async throws {
        let w = try await World()
        let support = try await w.t.staffMember("sue@staff.test", role: .support)
        let finance = try await w.t.staffMember("fin@staff.test", role: .finance)
        for actor in [w.t.actor(support), w.t.actor(finance), AuditEvent(action: "", actorKind: .system, actorLabel: "cli")] {
            await #expect(throws: StaffUserError.notPermitted) { try await w.staff.create(email: "x@staff.test", name: "X", role: .admin, actor: actor) }
            await #expect(throws: StaffUserError.notPermitted) { try await w.staff.changeRole(staffId: support.id, role: .admin, actor: actor) }
            await #expect(throws: StaffUserError.notPermitted) { try await w.staff.disable(staffId: finance.id, actor: actor) }
        }
        #expect(try await w.t.mail(to: "x@staff.test").isEmpty)
        #expect(try await w.member(support.id)?.user.role == .support)
    }

    @Test func createRefusesBadAndTakenEmails() async throws {
        let w = try await World()
        await #expect(throws: StaffUserError.invalidEmail) { try await w.staff.create(email: "not an email", name: "", role: .support, actor: w.actor) }
        await #expect(throws: StaffUserError.emailTaken("ada@staff.test")) {
            try await w.staff.create(email: "ADA@staff.test", name: "", role: .support, actor: w.actor)
        }
        #expect(try await w.staff.list().count == 1)
    }

    @Test func changingRolesIsAuditedAndNeverLeavesNoAdmin() async throws {
        let w = try await World()
        let sam = try await w.t.staffMember("sam@staff.test", role: .support)

        let changed = try await w.staff.changeRole(staffId: sam.id, role: .finance, actor: w.actor)

        #expect(changed.role == .finance)
        #expect(try await w.member(sam.id)?.user.role == .finance)
        let event = try #require(try await w.t.services.audit.events(action: "staff.role").first)
        #expect(event.actorId == w.admin.id && event.subject == .staff(sam.id) && event.details["from"] == "support" && event.details["to"] == "finance")
        await #expect(throws: StaffUserError.sameRole) { try await w.staff.changeRole(staffId: sam.id, role: .finance, actor: w.actor) }
        await #expect(throws: StaffUserError.notFound) { try await w.staff.changeRole(staffId: "stf_x", role: .finance, actor: w.actor) }

        // The only admin cannot step down; once there is another, they can.
        await #expect(throws: StaffUserError.lastAdmin) { try await w.staff.changeRole(staffId: w.admin.id, role: .support, actor: w.actor) }
        try await w.staff.changeRole(staffId: sam.id, role: .admin, actor: w.actor)
        try await w.staff.changeRole(staffId: w.admin.id, role: .support, actor: w.actor)
        #expect(try await w.member(w.admin.id)?.user.role == .support)
        // And having stepped down, they manage staff no more.
        await #expect(throws: StaffUserError.notPermitted) { try await w.staff.changeRole(staffId: sam.id, role: .support, actor: w.actor) }
    }

    @Test func disablingSignsTheMemberOutAndNeverTheAdminThemselves() async throws {
        let w = try await World()
        let sam = try await w.t.staffMember("sam@staff.test", role: .admin)
        _ = try await w.t.liveSession(.staff(sam.id))
        _ = try await w.t.liveSession(.staff(w.admin.id))

        await #expect(throws: StaffUserError.cannotDisableSelf) { try await w.staff.disable(staffId: w.admin.id, actor: w.actor) }
        let disabled = try await w.staff.disable(staffId: sam.id, actor: w.actor)

        #expect(disabled.status == .disabled)
        #expect(try await w.t.sessionCount(.staff(sam.id)) == 0)
        #expect(try await w.t.sessionCount(.staff(w.admin.id)) == 1)
        let event = try #require(try await w.t.services.audit.events(action: "staff.disable").first)
        #expect(event.actorId == w.admin.id && event.subject == .staff(sam.id) && event.details["sessions_revoked"] == "1")
        await #expect(throws: SignInError.invalidCredentials) {
            try await w.t.services.auth.signIn(kind: .staff, email: "sam@staff.test", password: "staff correct horse battery",
                                               client: TestServices.client)
        }
        await #expect(throws: StaffUserError.alreadyDisabled) { try await w.staff.disable(staffId: sam.id, actor: w.actor) }
        // A disabled admin is not an admin any more: Ada is now the last, and cannot step down.
        await #expect(throws: StaffUserError.notPermitted) { try await w.staff.disable(staffId: w.admin.id, actor: w.t.actor(sam)) }
        await #expect(throws: StaffUserError.lastAdmin) { try await w.staff.changeRole(staffId: w.admin.id, role: .finance, actor: w.actor) }

        #expect(try await w.staff.enable(staffId: sam.id, actor: w.actor).status == .active)
        #expect(try await w.t.services.audit.events(action: "staff.enable").first?.subject == .staff(sam.id))
        await #expect(throws: StaffUserError.notDisabled) { try await w.staff.enable(staffId: sam.id, actor: w.actor) }
        try await w.staff.changeRole(staffId: w.admin.id, role: .finance, actor: w.actor)
    }

    @Test func theListPutsActiveMembersFirstAndShowsWhoHasTwoStepSignIn() async throws {
        let w = try await World()
        let zed = try await w.t.staffMember("zed@staff.test", role: .support)
        _ = try await w.t.services.mfa.enrolKnownSecret(.staff(zed.id), secret: TOTPGenerator.newSecret())
        let invited = try await w.staff.create(email: "amy@staff.test", name: "Amy", role: .support, actor: w.actor)
        let gone = try await w.t.staffMember("bea@staff.test", role: .finance)
        try await w.staff.disable(staffId: gone.id, actor: w.actor)

        let list = try await w.staff.list()

        #expect(list.map(\.user.id) == [w.admin.id, zed.id, invited.staff.id, gone.id])
        #expect(list.map(\.mfaEnrolled) == [false, true, false, false])
        #expect(list.map { $0.invitationExpiresAt != nil } == [false, false, true, false])
        #expect(list.allSatisfy { $0.createdAt == w.t.clock.clock.nowSeconds() })
    }
}
